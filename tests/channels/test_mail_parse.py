"""The hostile-mail corpus (fixtures/*.eml) read by the parser: nothing raises, nothing leaks."""

from __future__ import annotations

import pytest

from supportdesk.channels.automation import automation_markers
from supportdesk.channels.errors import MailTooLarge
from supportdesk.channels.mail_parse import parse_mail
from supportdesk.channels.sender_checks import sender_record
from supportdesk.channels.settings import MailLimits
from tests.channels.conftest import FIXTURES, make_mail


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def test_an_unknown_charset_falls_back_to_utf8_with_replacement_and_a_defect() -> None:
    mail = parse_mail(fixture("bad_charset.eml"))
    assert "café" in mail.text
    assert "still readable" in mail.text
    assert "\ufffd" in mail.text
    assert any("unknown charset 'x-klingon'" in defect for defect in mail.defects)


def test_a_charset_that_lies_keeps_the_text_and_records_a_defect() -> None:
    mail = parse_mail(fixture("lying_charset.eml"))
    assert mail.text.startswith("Price: 10")
    assert "\ufffd" in mail.text
    assert any("not valid utf-8" in defect for defect in mail.defects)


def test_broken_base64_is_decoded_as_far_as_possible() -> None:
    mail = parse_mail(fixture("broken_base64.eml"))
    assert mail.text.startswith("Hello, this is")
    assert any("Base64" in defect for defect in mail.defects)


def test_a_thousand_parts_stop_at_the_parts_limit() -> None:
    mail = parse_mail(fixture("thousand_parts.eml"), MailLimits(max_parts=200))
    assert mail.text == "Body before a thousand parts."
    assert len(mail.attachments) == 100
    assert len(mail.skipped_attachments) == 98
    assert mail.skipped_attachments[0]["reason"] == "the mail has more than 100 attachments"
    assert any("more than 200 MIME parts" in defect for defect in mail.defects)


def test_deep_nesting_stops_at_the_depth_limit_without_recursion_errors() -> None:
    mail = parse_mail(fixture("deep_nesting.eml"), MailLimits(max_depth=12))
    assert mail.text == "Top level text."
    assert "treasure" not in mail.text
    assert any("nested deeper than 12" in defect for defect in mail.defects)
    assert "treasure at the bottom" in parse_mail(fixture("deep_nesting.eml"), MailLimits(max_depth=100)).text


def test_an_encoded_newline_in_the_subject_stays_one_line() -> None:
    mail = parse_mail(fixture("subject_newline.eml"))
    assert mail.subject == "x Bcc: evil"
    assert "\n" not in mail.subject and "\r" not in mail.subject


def test_attachment_names_are_sanitized_and_bytes_kept() -> None:
    mail = parse_mail(fixture("attachment_names.eml"))
    names = [part.filename for part in mail.attachments]
    assert names[0] == "bashrc"
    assert names[1] == "_CON"
    assert len(names[2]) == 200 and names[2].endswith("….pdf")
    assert all(part.data == b"evil()" for part in mail.attachments)
    assert mail.text == "See attached."


def test_html_only_mail_becomes_the_text_a_reader_sees() -> None:
    mail = parse_mail(fixture("html_hidden.eml"))
    assert mail.html_only
    assert "Dear support," in mail.text
    assert "click here" in mail.text
    assert "our help page <https://acme.test/help>" in mail.text
    for hidden in ("IGNORE PREVIOUS", "hidden tiny", "hidden paragraph", "steal", "more()", "javascript", "color:red"):
        assert hidden not in mail.text, hidden


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("auto_submitted.eml", "Auto-Submitted: auto-replied"),
        ("auto_generated.eml", "Auto-Submitted: auto-generated"),
        ("auto_precedence_bulk.eml", "Precedence: bulk"),
        ("auto_precedence_junk.eml", "Precedence: junk"),
        ("auto_precedence_list.eml", "Precedence: list"),
        ("auto_x_autoreply.eml", "X-Autoreply present"),
        ("auto_x_autorespond.eml", "X-Autorespond present"),
        ("auto_empty_return_path.eml", "empty Return-Path (a bounce)"),
        ("auto_mailer_daemon.eml", "sent by mailer-daemon"),
        ("auto_postmaster.eml", "sent by postmaster"),
    ],
)
def test_every_automation_marker_is_recognised(name: str, reason: str) -> None:
    mail = parse_mail(fixture(name))
    assert automation_markers(mail.headers, mail.from_address) == [reason]


def test_auto_submitted_no_is_a_person() -> None:
    mail = parse_mail(fixture("person_auto_submitted_no.eml"))
    assert automation_markers(mail.headers, mail.from_address) == []


def test_spoofing_signs_are_recorded() -> None:
    record = sender_record(parse_mail(fixture("reply_to_spoof.eml")), ("mx.acme.test",))
    assert record["from"] == "ceo@acme-corp.test"
    assert record["reply_to_differs"] is True
    assert record["authentication"]["verdict"] == "fail"
    assert record["authentication"]["spf"] == "fail"
    assert any("Reply-To (attacker@evil.test) differs" in warning for warning in record["warnings"])
    assert any("DMARC check: fail" in warning for warning in record["warnings"])
    assert record["sender"] == "failed"
    # the same verdicts from a server that is not ours are recorded and decide nothing
    untrusted = sender_record(parse_mail(fixture("reply_to_spoof.eml")), ("mx.other.test",))
    assert untrusted["authentication"] is None and untrusted["sender"] == "unverified"
    assert untrusted["untrusted_authentication"] == [{"authserv_id": "mx.acme.test", "verdict": "fail"}]
    assert not any("DMARC" in warning for warning in untrusted["warnings"])


def test_a_20_mb_body_is_cut_to_the_text_limit() -> None:
    raw = make_mail(body=("All work and no play. " * 50 + "\n") * 19_000)
    assert len(raw) > 20_000_000
    mail = parse_mail(raw)
    assert len(mail.text) == MailLimits().max_text_chars
    assert any("cut at 200,000 characters" in defect for defect in mail.defects)


def test_a_mail_over_the_size_limit_is_refused_before_parsing() -> None:
    with pytest.raises(MailTooLarge, match="at most 1,000 are accepted"):
        parse_mail(make_mail(body="x" * 2000), MailLimits(max_bytes=1000))


def test_garbage_headers_never_raise() -> None:
    raw = b"From: <<<@@@>>>\r\nTo: ;;;\r\nSubject: =?x-unknown?Q?abc=E9?=\r\nDate: yesterday-ish\r\n\r\nbody\r\n"
    mail = parse_mail(raw)
    assert mail.from_address is None
    assert mail.subject.startswith("abc")
    assert mail.date is None
    assert mail.text == "body"
