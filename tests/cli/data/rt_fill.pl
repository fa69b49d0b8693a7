# Fill a Request Tracker 5 SQLite database through RT's own API (RT's Perl classes, the same
# code its web UI and REST2 run), for supportdesk's import tests and bench:
#   perl rt_fill.pl DBFILE COUNT
# DBFILE is a copy of Debian's fresh rtdb (request-tracker5 + rt5-db-sqlite).
use strict; use warnings;
use lib '/usr/share/request-tracker5/lib';
use RT;
RT::LoadConfig();
RT->Config->Set('DatabaseName', $ARGV[0]);
RT->Config->Set('MailCommand', 'testfile');
RT->Config->Set('LogToSTDERR', 'error');
RT::Init();
use MIME::Entity;
my $n = $ARGV[1] || 5;
my $queue = RT::Queue->new(RT->SystemUser);
my ($ok, $msg) = $queue->Create(Name => 'Billing <b>', Description => 'money', CorrespondAddress => 'billing@example.com');
die $msg unless $ok;
my $everyone = RT::Group->new(RT->SystemUser); $everyone->LoadSystemInternalGroup('Everyone');
for my $right (qw(CreateTicket ReplyToTicket SeeQueue ShowTicket)) {
  $everyone->PrincipalObj->GrantRight(Right => $right, Object => $queue);
}
my $cf = RT::CustomField->new(RT->SystemUser);
($ok, $msg) = $cf->Create(Name => 'Product Line', Type => 'FreeformSingle', LookupType => 'RT::Queue-RT::Ticket');
die $msg unless $ok;
$cf->AddToObject($queue);
my $agent = RT::User->new(RT->SystemUser);
($ok, $msg) = $agent->Create(Name => 'alice', EmailAddress => 'alice@example.com', RealName => 'Alice Agent', Privileged => 1);
die $msg unless $ok;
$agent->PrincipalObj->GrantRight(Right => 'SuperUser', Object => RT->System);
my $as_agent = RT::CurrentUser->new($agent);
my @statuses = ('open', 'stalled', 'resolved', 'rejected', 'new');
for my $i (1..$n) {
  my $customer = RT::User->new(RT->SystemUser);
  $customer->LoadOrCreateByEmail("cust$i\@example.com");
  my $as_customer = RT::CurrentUser->new($customer);
  my $t = RT::Ticket->new($as_customer);  # the customer writes in; alice answers
  my $mime = MIME::Entity->build(Type => 'multipart/mixed');
  $mime->attach(Type => 'text/plain', Charset => 'UTF-8', Data => ["Body of ticket $i\n"]);
  $mime->attach(Type => 'application/pdf', Filename => "invoice-$i.pdf", Data => ["%PDF-1.4 invoice $i"]) if $i % 4 == 1;
  my ($id, $txn, $m) = $t->Create(Queue => $queue->Id, Subject => "Refund <script>alert($i)</script> \e[31mred",
     Requestor => ["cust$i\@example.com"], MIMEObj => $mime, "CustomField-".$cf->Id => "Widget $i", Priority => ($i % 3) * 50);
  die $m unless $id;
  my $ta = RT::Ticket->new($as_agent); $ta->Load($id);
  $ta->AddCustomFieldValue(Field => $cf->Id, Value => "Widget $i");
  $ta->Correspond(Content => "We are on it ($i)");
  $ta->Comment(Content => "internal note $i");
  $t->Correspond(Content => "Thanks! [b]still broken[/b] <img src=x onerror=alert(1)> " . ("x" x ($i == 2 ? 300_000 : 1)));
  $ta->SetOwner($agent->Id) if $i % 2;
  my $status = $statuses[$i % 5];
  $ta->SetStatus($status) if $status ne 'open' && $status ne 'new';
}
# the last ticket is merged into the first, the one before it deleted
if ($n >= 3) {
  my $last = RT::Ticket->new($as_agent); $last->Load($n);
  my ($merged, $why) = $last->MergeInto(1); die $why unless $merged;
  my $gone = RT::Ticket->new($as_agent); $gone->Load($n - 1);
  $gone->SetStatus('deleted');
}
print "ok\n";
