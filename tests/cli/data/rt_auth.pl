# Give RT's agent "alice" (made by rt_fill.pl) a password and a REST2 auth token, for
# supportdesk's import-over-REST2 tests and bench:
#   perl rt_auth.pl DBFILE PASSWORD
# Prints the token (the string RT shows once, for "Authorization: token ...").
use strict; use warnings;
use lib '/usr/share/request-tracker5/lib';
use RT;
RT::LoadConfig();
RT->Config->Set('DatabaseName', $ARGV[0]);
RT->Config->Set('LogToSTDERR', 'error');
RT::Init();
use RT::AuthToken;
my $alice = RT::User->new(RT->SystemUser);
$alice->Load('alice') or die "no alice: run rt_fill.pl first\n";
my ($ok, $msg) = $alice->SetPassword($ARGV[1]);
die "$msg\n" unless $ok;
my $token = RT::AuthToken->new(RT->SystemUser);
my ($id, $why, $auth) = $token->Create(Owner => $alice->Id, Description => 'supportdesk import');
die "$why\n" unless $id;
print "$auth\n";
