"""What the demo workspace talks about: a fictional SaaS company, Brightline, and its customers.

Topics pair the words customers use with the answers agents give and the articles that help,
so full-text search, article suggestions and macros have something real to find.
"""

from __future__ import annotations

from dataclasses import dataclass

COMPANY = "Brightline"
SUPPORT_DOMAIN = "brightline.example"

GROUPS: tuple[tuple[str, str, str], ...] = (
    ("Tier 1", "support@brightline.example", "First line: every new ticket lands here."),
    ("Tier 2", "escalations@brightline.example", "Deeper technical investigation."),
    ("Billing", "billing@brightline.example", "Invoices, refunds, plans and payment methods."),
    ("Integrations", "developers@brightline.example", "API, webhooks, SSO and third-party apps."),
    ("VIP", "vip@brightline.example", "Enterprise accounts with a named contact."),
)

AGENTS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    # name, role, groups
    ("Dana Whitfield", "admin", ("Tier 1", "Tier 2", "Billing", "Integrations", "VIP")),
    ("Marcus Oyelaran", "agent", ("Tier 1",)),
    ("Priya Raman", "agent", ("Tier 1", "Billing")),
    ("Tomás Ibarra", "agent", ("Tier 1",)),
    ("Lena Fischer", "agent", ("Tier 2",)),
    ("Kenji Watanabe", "agent", ("Tier 2", "Integrations")),
    ("Aisha Bello", "agent", ("Billing",)),
    ("Sofia Marchetti", "agent", ("Billing", "VIP")),
    ("Jonas Berg", "agent", ("Integrations",)),
    ("Chloé Durand", "agent", ("Tier 1", "VIP")),
    ("Ravi Menon", "agent", ("Tier 2",)),
    ("Hannah Kowalski", "agent", ("Tier 1",)),
    ("Diego Alvarez", "agent", ("Integrations", "Tier 2")),
    ("Mei Lin", "agent", ("VIP",)),
    ("Oliver Grant", "admin", ("Tier 2", "Billing")),
    ("Fatima Zahra", "agent", ("Tier 1", "Billing")),
    ("Noah Peretz", "light_agent", ("Tier 2",)),
    ("Ingrid Solberg", "agent", ("Tier 1",)),
    ("Samuel Okafor", "agent", ("Integrations",)),
    ("Yuki Sato", "light_agent", ("Billing",)),
)

FIRST_NAMES = (
    "Alice Bob Carla Daniel Elena Farid Grace Hugo Ines Jamal Katarina Liam Maya Nikolai Olivia "
    "Pedro Quinn Rosa Stefan Tara Umar Vera William Xenia Yusuf Zoe Amara Bruno Celine Dmitri "
    "Esther Felix Gabriela Henrik Ivy Jorge Keiko Lars Mina Nadia Oscar Paula Rashid Selma Theo "
    "Ulla Victor Wren Yara Zane Anika Benedikt Clara Declan Emeka Freya Giulia Hamza Ida"
).split()
LAST_NAMES = (
    "Adams Baker Castillo Dubois Eriksen Fontaine Garcia Haddad Ivanova Jensen Kim Larsen Moreau "
    "Novak Oduya Park Quint Rossi Schmidt Tanaka Ulrich Vargas Wagner Xu Yilmaz Zimmermann Abbott "
    "Brennan Costa Delgado Engel Ferreira Gupta Hoffmann Iqbal Jovanovic Kaur Lindqvist Mendes "
    "Nakamura Okoro Petrov Ramirez Svensson Torres Uddin Virtanen Weber Young Zhou"
).split()

ORG_WORDS = (
    "Acorn Beacon Cobalt Delta Ember Fjord Granite Harbor Indigo Juniper Keystone Lantern Meridian "
    "Nimbus Orchard Pioneer Quarry Redwood Summit Tidewater Umber Vantage Willow Yonder Zephyr"
).split()
ORG_SUFFIXES = (
    "Labs",
    "Logistics",
    "Health",
    "Studio",
    "Foods",
    "Capital",
    "Systems",
    "Retail",
    "Media",
    "Energy",
)

SOCIAL_NETWORKS = ("twitter", "facebook", "instagram", "linkedin")


@dataclass(frozen=True)
class Topic:
    key: str
    group: str
    tags: tuple[str, ...]
    subjects: tuple[str, ...]
    openings: tuple[str, ...]
    follow_ups: tuple[str, ...]
    answers: tuple[str, ...]
    notes: tuple[str, ...]
    priority_bias: str = "normal"
    type_: str = "question"


TOPICS: tuple[Topic, ...] = (
    Topic(
        "refund",
        "Billing",
        ("billing", "refund"),
        (
            "Refund for my last invoice",
            "Request a refund",
            "Charged after I cancelled — refund please",
            "Refund not received yet",
        ),
        (
            "I cancelled my subscription on the 3rd but was still charged for the next month. Could you refund the charge?",
            "We were billed for 25 seats but only use 12. Can we get a refund for the difference?",
            "I asked for a refund two weeks ago and nothing has arrived on my card yet.",
        ),
        (
            "Any update on the refund? It still does not show on my statement.",
            "Thanks. How long does the refund usually take to reach the card?",
            "The refund shows as pending at my bank, is that expected?",
        ),
        (
            "I have issued a refund for the full amount. It usually reaches your card within 5 to 10 business days, depending on your bank.",
            "I can see the duplicate charge and have refunded it. You will receive a confirmation email from our payment provider shortly.",
            "Refunds go back to the original payment method. Your bank may show it as pending for a few days before it settles.",
        ),
        (
            "Refund approved under the 30-day policy.",
            "Customer is on annual plan, prorated refund calculated manually.",
        ),
    ),
    Topic(
        "double-charge",
        "Billing",
        ("billing", "payment"),
        (
            "Charged twice this month",
            "Duplicate payment on my card",
            "Two identical charges from Brightline",
        ),
        (
            "My card was charged twice for the same invoice this morning. Please fix this.",
            "I see two payments of the same amount from Brightline on my bank statement.",
        ),
        ("I still see both charges, is one of them going to disappear?",),
        (
            "One of the two charges was an authorisation hold that your bank will release automatically within a few days. Only one payment was captured.",
            "You were indeed charged twice because of a retry after a timeout. I have refunded the duplicate payment.",
        ),
        (
            "Stripe shows two captures, refunding one.",
            "Only one capture, the other is an auth hold.",
        ),
        "high",
    ),
    Topic(
        "card-declined",
        "Billing",
        ("billing", "payment", "card_declined"),
        ("Card declined when upgrading", "Payment failed", "Cannot update my credit card"),
        (
            "Every time I try to upgrade to the Team plan my card is declined, but it works everywhere else.",
            "I got an email that my payment failed. I updated the card but it still says declined.",
        ),
        ("I tried again with another card and got the same error message.",),
        (
            "Declines usually come from the bank's fraud checks on international payments. Please ask your bank to allow payments to Brightline, then retry from Settings → Billing.",
            "Your bank returned 'do not honor'. Could you try again, or use a different card? Nothing was charged on our side.",
        ),
        ("Decline code do_not_honor from the issuer.",),
    ),
    Topic(
        "invoice",
        "Billing",
        ("billing", "invoice"),
        (
            "Need a copy of my invoice",
            "Invoice with our VAT number",
            "Change billing address on invoices",
        ),
        (
            "Could you send me the invoice for March? Our accounting team needs it with our VAT number on it.",
            "Our company moved. How do I change the billing address that appears on invoices?",
        ),
        ("Thanks, could you also add our purchase order number?",),
        (
            "You can download every invoice from Settings → Billing → Invoices. I have also attached the March invoice with your VAT number.",
            "The billing address can be changed by an account owner under Settings → Billing. New invoices will use it immediately; I have regenerated the last one for you.",
        ),
        ("Regenerated invoice with VAT id.",),
        "low",
    ),
    Topic(
        "password",
        "Tier 1",
        ("login", "password"),
        ("Password reset email never arrives", "Cannot log in", "Locked out of my account"),
        (
            "I requested a password reset three times but the email never arrives. I checked the spam folder too.",
            "My account says it is locked after too many attempts. How do I get back in?",
        ),
        ("Still nothing in my inbox, even after your change.",),
        (
            "Our logs show the reset emails were rejected by your mail server. I have resent it from a different sender; please also allow mail from brightline.example.",
            "Accounts unlock automatically after 30 minutes. I have unlocked yours now, and you can reset the password from the login page.",
        ),
        ("Bounce: 550 rejected by recipient's spam filter.",),
    ),
    Topic(
        "2fa",
        "Tier 1",
        ("login", "2fa", "security"),
        (
            "Lost my phone, cannot pass two-factor",
            "2FA codes are rejected",
            "Reset two-factor authentication",
        ),
        (
            "I got a new phone and my authenticator app is empty. I cannot log in without the code.",
            "The six-digit codes from my authenticator are always rejected as invalid.",
        ),
        ("I have verified my identity as you asked, what is next?",),
        (
            "For your security we need to verify ownership before resetting two-factor authentication. Please reply from the account's email address with the last four digits of the card on file.",
            "Rejected codes are almost always caused by the phone's clock being off. Enable automatic time on the phone and try again.",
        ),
        ("Identity verified via billing details; 2FA reset.",),
        "high",
    ),
    Topic(
        "api-rate-limit",
        "Integrations",
        ("api", "rate_limit"),
        (
            "API returns 429 Too Many Requests",
            "Rate limit too low for our sync",
            "Throttled by the API",
        ),
        (
            "Since yesterday our nightly sync gets HTTP 429 responses from the API after a few hundred requests.",
            "What is the rate limit of the REST API? We keep hitting it during imports.",
        ),
        ("We added backoff but still see 429 at peak times.",),
        (
            "The REST API allows 600 requests per minute per token. Responses include a Retry-After header; waiting that long before retrying avoids the errors.",
            "I have raised the limit on your account to 1,200 requests per minute for the duration of your migration.",
        ),
        ("Customer's integration retries immediately without backoff.",),
        "normal",
        "incident",
    ),
    Topic(
        "webhook",
        "Integrations",
        ("api", "webhook"),
        (
            "Webhooks stopped firing",
            "Webhook deliveries failing with timeout",
            "Not receiving webhook events",
        ),
        (
            "Our endpoint stopped receiving webhook events this morning. Nothing changed on our side.",
            "The webhook log shows timeouts for every delivery to our server.",
        ),
        ("Our endpoint responds in under a second, so the timeout is strange.",),
        (
            "Webhooks are disabled automatically after 50 consecutive failures. I have re-enabled yours; deliveries that failed are being retried now.",
            "Our delivery attempts time out after 10 seconds. Responding with 200 first and processing the event afterwards solves this.",
        ),
        ("Endpoint disabled after consecutive failures.",),
        "high",
        "incident",
    ),
    Topic(
        "sso",
        "Integrations",
        ("sso", "security"),
        ("SAML single sign-on setup", "SSO login fails with invalid audience", "Okta integration"),
        (
            "We are setting up SAML SSO with Okta and get 'invalid audience' after logging in.",
            "Is single sign-on available on the Team plan? We use Azure AD.",
        ),
        ("We fixed the audience but now users are created without a name.",),
        (
            "The audience must be exactly the entity ID shown under Settings → Security → SSO. Names come from the firstName and lastName attributes of the assertion.",
            "SAML SSO is included in the Business plan and above. I can enable a trial of it on your workspace.",
        ),
        ("Entity ID mismatch in the IdP config.",),
    ),
    Topic(
        "export",
        "Tier 1",
        ("export", "data"),
        ("CSV export is empty", "Export all our data", "Export times out"),
        (
            "When I export the report to CSV the file only has the header row.",
            "We need a full export of our workspace before the end of the contract.",
        ),
        ("The export link in the email has expired already.",),
        (
            "Exports include only the rows visible with your current filters. Clear the filters, then export again.",
            "A full export is available under Settings → Data → Export. Large workspaces receive a download link by email when it is ready.",
        ),
        ("Filters hid all rows.",),
        "low",
    ),
    Topic(
        "import-error",
        "Tier 2",
        ("import", "data", "bug"),
        ("Import fails at row 1,204", "Spreadsheet import error", "Dates wrong after import"),
        (
            "Importing our customer list fails with 'invalid value' at row 1,204, but the row looks fine.",
            "After the import every date is one day early.",
        ),
        ("Here is the file again, with the column you asked about.",),
        (
            "Row 1,204 contains a non-breaking space in the email column. Removing it lets the import finish.",
            "Dates without a time zone are read as UTC. Set the workspace time zone before importing, or include the offset in the file.",
        ),
        ("Reproduced with customer file, filed bug for better error message.",),
        "normal",
        "incident",
    ),
    Topic(
        "slow-dashboard",
        "Tier 2",
        ("performance", "dashboard"),
        ("Dashboard takes a minute to load", "Everything is very slow today", "Reports time out"),
        (
            "The dashboard has been taking more than a minute to load since Monday.",
            "Reports with a yearly range time out every time.",
        ),
        ("It is faster now, but the yearly report still fails.",),
        (
            "We found a slow query on workspaces with many archived projects and deployed a fix this morning. Loading should be back to normal.",
            "Yearly reports over large workspaces are now generated in the background; you will receive an email when it is ready.",
        ),
        ("Linked to the performance problem ticket.",),
        "high",
        "incident",
    ),
    Topic(
        "notifications",
        "Tier 1",
        ("notifications", "email"),
        (
            "Not receiving email notifications",
            "Too many notification emails",
            "Notifications go to old address",
        ),
        (
            "I stopped receiving email notifications for new comments.",
            "I get an email for every little change. Can I get a daily summary instead?",
        ),
        ("Still nothing arrives, even after re-enabling.",),
        (
            "Notifications were paused because earlier emails bounced. I have re-activated them; please check your notification settings too.",
            "Under Profile → Notifications you can switch to a daily digest.",
        ),
        ("Address was on the suppression list after a bounce.",),
        "low",
    ),
    Topic(
        "cancel",
        "Billing",
        ("billing", "cancellation"),
        ("Cancel my subscription", "How do I close my account?", "Downgrade to the free plan"),
        (
            "Please cancel our subscription at the end of the current period.",
            "We no longer need Brightline. How do I delete the account and all data?",
        ),
        ("Will we still have access until the end of the month?",),
        (
            "I have scheduled the cancellation for the end of your billing period. You keep full access until then and will not be charged again.",
            "An account owner can delete the workspace under Settings → Danger zone. All data is removed within 30 days.",
        ),
        ("Offered a discount, customer declined.",),
    ),
    Topic(
        "mobile-crash",
        "Tier 2",
        ("mobile", "bug", "crash"),
        (
            "iOS app crashes on launch",
            "Android app closes when opening a project",
            "App freezes after update",
        ),
        (
            "Since the latest update the iOS app crashes as soon as I open it.",
            "The Android app closes every time I open one particular project.",
        ),
        ("Reinstalling did not help.",),
        (
            "This crash was caused by the new offline cache and is fixed in version 4.12, which is rolling out today.",
            "Thank you for the crash report. The project contains an attachment the app cannot preview; a fix ships in the next release.",
        ),
        ("Crash in OfflineCache.migrate, see problem ticket.",),
        "high",
        "incident",
    ),
    Topic(
        "gdpr",
        "Tier 2",
        ("privacy", "gdpr"),
        (
            "Request for my personal data",
            "Delete all my personal data",
            "Data processing agreement",
        ),
        (
            "Under the GDPR I request a copy of all personal data you hold about me.",
            "Please erase all personal data about me from your systems.",
        ),
        ("How long until I receive the export?",),
        (
            "We will send you the export within 30 days, as the GDPR requires. In most cases it arrives within a week.",
            "Your erasure request has been recorded. We will confirm once every copy has been deleted.",
        ),
        ("Privacy request logged, deadline in 30 days.",),
    ),
    Topic(
        "seats",
        "Billing",
        ("billing", "seats"),
        ("Add five more seats", "Remove inactive users from billing", "Seat count is wrong"),
        (
            "We hired five people, how do we add seats to our plan?",
            "We are billed for 40 seats but only 31 people use the product.",
        ),
        ("Do deactivated users count as seats?",),
        (
            "Admins can add seats under Settings → Billing → Seats. The extra seats are prorated for the current period.",
            "Deactivated users do not count; invited users who never accepted do. I have removed the 9 pending invitations.",
        ),
        ("Pending invites were counted as seats.",),
        "low",
    ),
    Topic(
        "feature-request",
        "Tier 1",
        ("feature_request",),
        (
            "Feature request: dark mode",
            "Please add a Gantt view",
            "Can we have custom fields on tasks?",
        ),
        (
            "It would be great to have a dark mode, especially for the desktop app.",
            "Our team would love a Gantt view for project planning.",
        ),
        ("Any idea when this might be available?",),
        (
            "Thank you for the suggestion! I have added your vote to the feature request; the product team reviews them every month.",
            "This is on our roadmap for later this year. I have linked your account so you hear from us as soon as it ships.",
        ),
        ("Logged in the feature request board.",),
        "low",
        "task",
    ),
    Topic(
        "outage",
        "Tier 2",
        ("outage", "incident"),
        ("Brightline is down", "Error 502 everywhere", "Cannot reach the app"),
        (
            "Nobody on our team can load the app, we get error 502 everywhere.",
            "Is there an outage? The API returns 503 for every request.",
        ),
        ("It is working again, what happened?",),
        (
            "We had a partial outage caused by a failed database failover between 09:12 and 09:47 UTC. Everything is back to normal; a full report will be published on our status page.",
            "Our status page lists an ongoing incident. The team is working on it and I will update you as soon as it is resolved.",
        ),
        ("Part of the outage of this morning.",),
        "urgent",
        "incident",
    ),
    Topic(
        "slack",
        "Integrations",
        ("integration", "slack"),
        (
            "Slack integration stopped posting",
            "Connect Brightline to Slack",
            "Slack notifications duplicated",
        ),
        (
            "Our Slack channel stopped receiving Brightline notifications last week.",
            "Each update is posted twice in our Slack channel.",
        ),
        ("We reconnected it but nothing changed.",),
        (
            "The Slack token was revoked when the installing user left your Slack workspace. Reconnecting the integration with another admin fixes it.",
            "Duplicates happen when the integration is installed twice. Remove one of them under Settings → Integrations.",
        ),
        ("Token revoked on Slack side.",),
    ),
    Topic(
        "timezone",
        "Tier 1",
        ("settings", "timezone"),
        (
            "Times are shown in the wrong time zone",
            "Due dates are off by one hour",
            "Change workspace time zone",
        ),
        (
            "All due dates are shown one hour too late since the clocks changed.",
            "How do I change the time zone of our workspace?",
        ),
        ("My personal setting was already correct.",),
        (
            "Each user can set a time zone under Profile → Preferences; it overrides the workspace time zone. Yours was set to a fixed UTC offset, which ignores daylight saving time.",
            "Owners can change the workspace time zone under Settings → General.",
        ),
        ("Fixed offset instead of a region time zone.",),
        "low",
    ),
)

SIGN_OFFS = ("Thanks,", "Best regards,", "Cheers,", "Kind regards,", "Thank you!", "")
GREETINGS = ("Hi {first},", "Hello {first},", "Dear {first},", "Hi {first}!")
AGENT_CLOSINGS = (
    "Let me know if there is anything else I can help with.",
    "I hope this helps — just reply to this email if you have any other questions.",
    "Have a great day!",
    "Is there anything else I can do for you?",
)
CUSTOMER_THANKS = (
    "That worked, thank you so much!",
    "Perfect, thanks for the quick help.",
    "Great, all sorted now.",
    "Thanks, that answers my question.",
)
CHAT_LINES = (
    "hi, quick question",
    "are you there?",
    "ok let me try that",
    "one sec",
    "it worked!",
    "still the same error",
    "thanks!!",
)

#: Text that must appear literally and harmlessly everywhere the console or CLI shows it.
HOSTILE_SUBJECTS = (
    "[@click=app.quit]Click here for your refund[/]",
    "[$accent @click=app.quit]Invoice overdue",
    "[ @click=app.quit]x [/] [bold unclosed markup",
    "Screen wipe \x1b[2J\x1b[H and OSC 52 \x1b]52;c;cm0gLXJmIH4=\x07 clipboard",
    "Link \x1b]8;;https://evil.example/\x1b\\click me\x1b]8;;\x1b\\ and C1 \x9b31m red",
    "Invoice \u202egnp.exe\u202c from billing\u200b\u200d",
)
HOSTILE_NAME = "[@click=app.quit]Mallory [b]Hacker[/b]"


@dataclass(frozen=True)
class MacroSeed:
    name: str
    description: str
    actions: tuple[tuple[str, str], ...]
    body: str
    public: bool = True


MACROS: tuple[MacroSeed, ...] = (
    MacroSeed("Greeting", "A friendly opening", (), "Hi {{ ticket.requester.first_name }},\n\n"),
    MacroSeed(
        "Close: resolved",
        "Thank and solve",
        (("status", "solved"),),
        "Hi {{ ticket.requester.first_name }},\n\nI'm glad we could sort this out. I'll mark ticket #{{ ticket.number }} as solved; just reply if anything comes up again.\n\nBest,\n{{ agent.first_name }}",
    ),
    MacroSeed(
        "Ask for more details",
        "Request information and set pending",
        (("status", "pending"),),
        "Hi {{ ticket.requester.first_name }},\n\nThanks for reaching out. Could you send us a screenshot and the exact steps that lead to the problem? That will help us reproduce it.\n\n{{ agent.first_name }}",
    ),
    MacroSeed(
        "Billing: refund issued",
        "Confirm a refund",
        (("status", "solved"), ("add_tags", "refund,refund_issued")),
        "Hi {{ ticket.requester.first_name }},\n\nI've issued a refund. It usually reaches your card within 5 to 10 business days, depending on your bank.\n\nBest regards,\n{{ agent.name }}",
    ),
    MacroSeed(
        "Billing: transfer to billing",
        "Move to the Billing group",
        (("group", "Billing"), ("assignee", "none")),
        "",
    ),
    MacroSeed(
        "Escalate to Tier 2",
        "Hand over to Tier 2 with a note",
        (("group", "Tier 2"), ("priority", "high"), ("add_tags", "escalated")),
        "Escalating to Tier 2: reproduced on our side, details above.",
        False,
    ),
    MacroSeed(
        "Integrations: rate limits",
        "Explain API rate limits",
        (("add_tags", "api,rate_limit"),),
        "Hi {{ ticket.requester.first_name }},\n\nThe REST API allows 600 requests per minute per token. Each 429 response carries a Retry-After header; waiting that long before retrying avoids further errors.\n\n{{ agent.first_name }}",
    ),
    MacroSeed(
        "Outage: acknowledge",
        "Acknowledge an ongoing incident",
        (("priority", "urgent"), ("type", "incident"), ("add_tags", "outage")),
        "Hi {{ ticket.requester.first_name }},\n\nWe're aware of the problem and our engineers are working on it. You can follow updates on our status page. I'll get back to you as soon as it's resolved.\n\n{{ agent.first_name }}",
    ),
    MacroSeed(
        "Feature request: logged",
        "Thank for a suggestion",
        (("type", "task"), ("status", "solved"), ("add_tags", "feature_request")),
        "Hi {{ ticket.requester.first_name }},\n\nThank you for the suggestion! I've shared it with our product team and added your vote.\n\n{{ agent.first_name }}",
    ),
    MacroSeed(
        "Privacy: request received",
        "Acknowledge a GDPR request",
        (("add_tags", "gdpr,privacy"), ("status", "on_hold")),
        "Hi {{ ticket.requester.first_name }},\n\nWe've received your privacy request and will complete it within 30 days, as required by law.\n\nKind regards,\n{{ agent.name }}",
    ),
)
MACRO_EXTRA_TOPICS = (
    "password reset",
    "2FA reset",
    "webhook re-enabled",
    "SSO configuration",
    "CSV export",
    "import error",
    "slow dashboard",
    "email notifications",
    "cancellation scheduled",
    "mobile crash fixed",
    "seat count",
    "invoice copy",
    "card declined",
    "Slack reconnect",
    "time zone settings",
)

ARTICLE_SECTIONS = (
    ("Getting started", "account", "Set up your workspace, invite your team and learn the basics."),
    ("Billing", "billing", "Plans, invoices, refunds, seats and payment methods."),
    ("Security", "security", "Passwords, two-factor authentication and single sign-on."),
    ("Integrations", "integration", "The REST API, webhooks, Slack and other apps."),
    ("Data", "data", "Import, export and privacy requests."),
    ("Mobile", "mobile", "The iOS and Android apps."),
    ("Troubleshooting", "troubleshooting", "What to do when something does not work."),
)

ARTICLE_TITLES = (
    "How to reset your password",
    "Setting up two-factor authentication",
    "Recovering access when you lose your 2FA device",
    "Configuring SAML single sign-on with Okta",
    "Configuring single sign-on with Azure AD",
    "Understanding API rate limits",
    "Retrying webhook deliveries",
    "Why webhooks are disabled automatically",
    "Downloading invoices",
    "Adding your VAT number to invoices",
    "Changing your billing address",
    "How refunds work",
    "Why was my card declined?",
    "Understanding authorisation holds",
    "Adding and removing seats",
    "Cancelling your subscription",
    "Deleting your workspace",
    "Exporting your data to CSV",
    "Requesting a full data export",
    "Importing customers from a spreadsheet",
    "Fixing date and time zone problems in imports",
    "Changing the workspace time zone",
    "Managing email notifications",
    "Switching to a daily digest",
    "Connecting Slack",
    "Fixing duplicate Slack notifications",
    "Installing the iOS app",
    "Installing the Android app",
    "What to do when the mobile app crashes",
    "Checking the status page during an outage",
    "Speeding up large dashboards",
    "Scheduling reports in the background",
    "Your rights under the GDPR",
    "Signing our data processing agreement",
    "Inviting your team",
    "Roles and permissions",
    "Creating your first project",
    "Keyboard shortcuts",
    "Using custom fields",
    "Browser requirements",
)


@dataclass(frozen=True)
class ArticleAbout:
    """What one article title is about: the topic whose questions and answers its body quotes
    (empty for a general article), the section it sits in, and the sentence that opens it."""

    topic: str
    section: str
    lead: str


#: Each title's subject, so that an article's body answers the question its title promises.
ARTICLE_ABOUT: dict[str, ArticleAbout] = {
    "How to reset your password": ArticleAbout(
        "password",
        "security",
        "Reset a forgotten password from the login page, and what to do when the reset email does not arrive.",
    ),
    "Setting up two-factor authentication": ArticleAbout(
        "2fa", "security", "Protect your account with codes from an authenticator app on your phone."
    ),
    "Recovering access when you lose your 2FA device": ArticleAbout(
        "2fa",
        "security",
        "Lost or replaced your phone? This is how we reset two-factor authentication after checking it is really you.",
    ),
    "Configuring SAML single sign-on with Okta": ArticleAbout(
        "sso", "security", "Connect Okta to Brightline with SAML so your team signs in with their company account."
    ),
    "Configuring single sign-on with Azure AD": ArticleAbout(
        "sso", "security", "Let your team sign in with Microsoft Entra ID (Azure AD) accounts through SAML."
    ),
    "Understanding API rate limits": ArticleAbout(
        "api-rate-limit",
        "integration",
        "How many API requests a token may make each minute, and how to back off when you get HTTP 429.",
    ),
    "Retrying webhook deliveries": ArticleAbout(
        "webhook",
        "integration",
        "How failed webhook deliveries are retried, and how to replay them from the delivery log.",
    ),
    "Why webhooks are disabled automatically": ArticleAbout(
        "webhook",
        "integration",
        "An endpoint that keeps failing or timing out is switched off; this is how to turn it back on.",
    ),
    "Downloading invoices": ArticleAbout(
        "invoice", "billing", "Every invoice and receipt can be downloaded as a PDF from the billing settings."
    ),
    "Adding your VAT number to invoices": ArticleAbout(
        "invoice", "billing", "Put your company's VAT or tax id on invoices, including ones already issued."
    ),
    "Changing your billing address": ArticleAbout(
        "invoice", "billing", "Update the company name and postal address printed on your invoices."
    ),
    "How refunds work": ArticleAbout(
        "refund", "billing", "When we refund a payment, how long the money takes to come back, and where it goes."
    ),
    "Why was my card declined?": ArticleAbout(
        "card-declined", "billing", "A payment that fails is almost always refused by the bank; here is what to check."
    ),
    "Understanding authorisation holds": ArticleAbout(
        "double-charge", "billing", "Why you may see two charges for one payment, and when the extra one disappears."
    ),
    "Adding and removing seats": ArticleAbout(
        "seats", "billing", "Add users to your plan or stop paying for people who left, and how seats are counted."
    ),
    "Cancelling your subscription": ArticleAbout(
        "cancel", "billing", "End your plan at the close of the billing period, or downgrade to the free plan."
    ),
    "Deleting your workspace": ArticleAbout(
        "cancel", "account", "Close your account for good and have all of its data removed."
    ),
    "Exporting your data to CSV": ArticleAbout(
        "export", "data", "Download reports and lists as spreadsheet files, and why an export can come out empty."
    ),
    "Requesting a full data export": ArticleAbout(
        "export", "data", "Get a complete copy of everything in your workspace, for example before a contract ends."
    ),
    "Importing customers from a spreadsheet": ArticleAbout(
        "import-error", "data", "Bring your customer list in from a spreadsheet, and fix the rows the import rejects."
    ),
    "Fixing date and time zone problems in imports": ArticleAbout(
        "import-error", "data", "Dates that shift by a day or an hour after an import come from a missing time zone."
    ),
    "Changing the workspace time zone": ArticleAbout(
        "timezone", "account", "Choose the time zone that due dates and reports use, for the workspace or for yourself."
    ),
    "Managing email notifications": ArticleAbout(
        "notifications", "account", "Choose which emails you receive, and what to do when they stop arriving."
    ),
    "Switching to a daily digest": ArticleAbout(
        "notifications", "account", "Receive one summary email a day instead of a message for every change."
    ),
    "Connecting Slack": ArticleAbout(
        "slack", "integration", "Post updates to a Slack channel, and reconnect when messages stop appearing."
    ),
    "Fixing duplicate Slack notifications": ArticleAbout(
        "slack", "integration", "Every update appearing twice in Slack means the integration is installed twice."
    ),
    "Installing the iOS app": ArticleAbout(
        "mobile-crash",
        "mobile",
        "Get Brightline on your iPhone or iPad, and what to do if it will not start after an update.",
    ),
    "Installing the Android app": ArticleAbout(
        "mobile-crash", "mobile", "Get Brightline on your Android phone, and what to do if it closes unexpectedly."
    ),
    "What to do when the mobile app crashes": ArticleAbout(
        "mobile-crash", "mobile", "The app closes or freezes: update it, then send us a crash report."
    ),
    "Checking the status page during an outage": ArticleAbout(
        "outage",
        "troubleshooting",
        "When Brightline is down or shows server errors, the status page says what is happening.",
    ),
    "Speeding up large dashboards": ArticleAbout(
        "slow-dashboard", "troubleshooting", "What makes a dashboard slow to load and how to make it fast again."
    ),
    "Scheduling reports in the background": ArticleAbout(
        "slow-dashboard",
        "troubleshooting",
        "Long reports run in the background and arrive by email instead of timing out.",
    ),
    "Your rights under the GDPR": ArticleAbout(
        "gdpr", "data", "Ask for a copy of your personal data or for it to be deleted, and how long that takes."
    ),
    "Signing our data processing agreement": ArticleAbout(
        "gdpr", "data", "Sign the data processing agreement your company needs under the GDPR."
    ),
    "Inviting your team": ArticleAbout(
        "", "account", "Send invitations to colleagues by email; they join once they accept."
    ),
    "Roles and permissions": ArticleAbout(
        "", "account", "Owners, admins and members: what each role can see and change."
    ),
    "Creating your first project": ArticleAbout(
        "", "account", "Start a project, add tasks and share it with your team."
    ),
    "Keyboard shortcuts": ArticleAbout("", "account", "Move around and edit faster without the mouse."),
    "Using custom fields": ArticleAbout(
        "feature-request", "account", "Add your own fields to tasks and projects to track what matters to your team."
    ),
    "Browser requirements": ArticleAbout(
        "",
        "troubleshooting",
        "The browsers and versions Brightline supports, and what to try when a page does not work.",
    ),
}
