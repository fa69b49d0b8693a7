# Prepare a Request Tracker 5 SQLite database for bench/rt_side_by_side.py, through RT's own
# Perl API (the code its web UI, REST 1.0 and REST2 run):
#   perl rt_side_by_side_setup.pl DBFILE PASSWORD CUSTOMERS QUEUE...
# Gives root PASSWORD, makes the QUEUEs (supportdesk's demo groups), CUSTOMERS requestor users,
# and one template ticket in the first queue: created by customer 1 with a text body, answered
# by root (which opens it) and commented on by root. bench/rt_side_by_side.py copies that
# ticket's rows (ticket, role groups, members, transactions, attachments) once per demo ticket:
# RT's API takes seconds a ticket on this machine, a copy of its own rows takes microseconds.
# Prints "template ID" and "customer ID" lines for the copier.
use strict; use warnings;
use lib '/usr/share/request-tracker5/lib';
use RT;
RT::LoadConfig();
RT->Config->Set('DatabaseName', $ARGV[0]);
RT->Config->Set('MailCommand', 'testfile');
RT->Config->Set('LogToSTDERR', 'error');
RT::Init();
use MIME::Entity;
my ($db, $password, $customers, @queues) = @ARGV;
my $root = RT::User->new(RT->SystemUser);
$root->Load('root') or die "no root user\n";
my ($ok, $msg) = $root->SetPassword($password);
die "$msg\n" unless $ok;
my @queue_ids;
for my $name (@queues) {
  my $queue = RT::Queue->new(RT->SystemUser);
  $queue->Load($name);
  unless ($queue->Id) {
    ($ok, $msg) = $queue->Create(Name => $name, CorrespondAddress => '');
    die "$msg\n" unless $ok;
  }
  push @queue_ids, $queue->Id;
  print "queue ", $queue->Id, " $name\n";
}
for my $i (1..$customers) {
  my $customer = RT::User->new(RT->SystemUser);
  my ($id) = $customer->LoadOrCreateByEmail("customer$i\@example.com");
  print "customer ", $customer->Id, "\n";
}
my $as_root = RT::CurrentUser->new($root);
my $mime = MIME::Entity->build(Type => 'text/plain', Charset => 'UTF-8', Data => ["Template body\n"]);
my $ticket = RT::Ticket->new($as_root);
my ($id, $txn, $m) = $ticket->Create(Queue => $queue_ids[0], Subject => 'Template', Requestor => ['customer1@example.com'],
   MIMEObj => $mime);
die "$m\n" unless $id;
$ticket->Correspond(Content => "Template reply");
$ticket->Comment(Content => "Template note");
print "template $id\n";
