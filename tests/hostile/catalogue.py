"""The hostile-input list: every attack we promise to survive, and the test that proves it.

Two tables, both machine-checked by ``test_catalogue.py`` (each node id must be collected by
pytest, so a renamed or deleted test fails the list instead of leaving a promise unproved):

``CATALOGUE``
    One row per hostile case: who attacks where (``surface``), with what (``attack``), and the
    pytest node ids that prove the clear error *and* that nothing was lost or leaked. Cases new
    with this list live in ``tests/hostile/test_*.py``; the older ones stay where their feature
    lives (``tests/server``, ``tests/channels``, ``tests/domain`` …) and are listed here.

``ISSUE_12``
    Every item of issue 12 ("Trust") and the tests that fail on the main it was filed against.

Run the list with ``pytest tests/hostile`` (the new cases and this index), or every proof of
it with ``pytest $(python -m tests.hostile.catalogue)``.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

#: Where the attack comes in.
SURFACES = ("cli", "server", "channels", "console", "sync", "query", "domain", "erasure", "files")


@dataclass(frozen=True)
class Case:
    id: str
    surface: str
    attack: str
    proof: tuple[str, ...]


# The files the proofs live in.
SERVER_INPUTS = "tests/hostile/test_server_inputs.py::"
FORGED_INPUTS = "tests/server/test_forged_inputs.py::"
API = "tests/server/test_api.py::"
MESSAGE_ORIGIN = "tests/server/test_message_origin.py::"
WEBHOOK_FILES = "tests/channels/test_webhook_files.py::"
CONSOLE_FILES = "tests/tui/test_attachments_console.py::"
TOKENS = "tests/server/test_tokens.py::"
STREAMS = "tests/server/test_streams.py::"
READ_TIMEOUTS = "tests/server/test_read_timeouts.py::"
FEEDBACK = "tests/server/test_feedback.py::"
RULES = "tests/erasure/test_rules.py::"
CLI_INPUTS = "tests/hostile/test_cli_inputs.py::"
SAFETY_AND_SETTINGS = "tests/cli/test_safety_and_settings.py::"
ERROR_EDGE = "tests/cli/test_error_edge.py::"
BINDING = "tests/sync/test_binding.py::"
QUERY = "tests/store/test_query.py::"
CONSOLE_INPUTS = "tests/hostile/test_console_inputs.py::"
HOSTILE = "tests/tui/test_hostile.py::"
ASSIST_CONSOLE = "tests/tui/test_assist_console.py::"
FLOWS = "tests/tui/test_flows.py::"
VISIBILITY_CONSOLE = "tests/tui/test_visibility_console.py::"
CHANNEL_INPUTS = "tests/hostile/test_channel_inputs.py::"
MAIL_INGEST = "tests/channels/test_mail_ingest.py::"
MAIL_TRUST = "tests/channels/test_mail_trust.py::"
SERVER_MAIL = "tests/channels/test_server_mail.py::"
MAIL_PARSE = "tests/channels/test_mail_parse.py::"
PIECES = "tests/channels/test_pieces.py::"
DELIVERY = "tests/channels/test_delivery.py::"
WEBHOOKS = "tests/channels/test_webhooks.py::"
SERVER_WEBHOOKS = "tests/channels/test_server_webhooks.py::"
SMS = "tests/channels/test_sms.py::"
SYNC_INPUTS = "tests/hostile/test_sync_inputs.py::"
ROUND_LOCK = "tests/sync/test_round_lock.py::"
OVERLAP = "tests/sync/test_overlap.py::"
EXACTLY_ONCE = "tests/sync/test_exactly_once.py::"
TRUST = "tests/domain/test_trust.py::"
MACRO_LIMITS = "tests/domain/test_macro_limits.py::"
TICKET_FIELDS = "tests/domain/test_ticket_fields.py::"
TEXT_SAFETY = "tests/domain/test_text_safety.py::"
EVERY_BYTE = "tests/erasure/test_every_byte.py::"
FILES = "tests/hostile/test_files.py::"
PRIVATE_FILES = "tests/server/test_private_files.py::"
CLOCK = "tests/store/test_clock.py::"
FAULT_SEEDS = "tests/faults/test_fault_seeds.py::"
INDEX = "tests/hostile/test_catalogue.py::"
AUTOMATIONS = "tests/domain/test_automations.py::"
TIME_LOG = "tests/domain/test_time_entries.py::"
TIME_CLI = "tests/cli/test_time_and_automations_cli.py::"
RULES_CONSOLE = "tests/tui/test_rules_and_time_console.py::"

# fmt: off
CATALOGUE: list[Case] = [
    # --- the team server's API ---------------------------------------------------------------------
    Case("server-body-too-deep", "server",
         "a push body of arrays or objects nested 50,000–100,000 deep",
         (SERVER_INPUTS + "test_a_body_nested_too_deeply_is_malformed_json",)),
    Case("server-body-not-utf8", "server",
         "a push body whose bytes are not UTF-8; nothing of it applied",
         (SERVER_INPUTS + "test_a_body_that_is_not_utf8_is_malformed_json_and_applies_nothing",)),
    Case("server-bootstrap-key-deep", "server",
         "a bootstrap resume key of 1,000 '[' (within its length bound)",
         (SERVER_INPUTS + "test_a_bootstrap_key_nested_a_thousand_deep_is_a_422",)),
    Case("server-foreign-client-id", "server",
         "another agent's client id, to replay their mutation ids and read their stored results",
         (SERVER_INPUTS + "test_another_agents_client_id_neither_replays_nor_reads_their_results",)),
    Case("server-replay-other-args", "server",
         "a replayed mutation id carrying different arguments",
         (SERVER_INPUTS + "test_a_replayed_mutation_id_with_other_args_changes_nothing",)),
    Case("server-replay-after-revoke", "server",
         "a token used after its revocation: me, pull, push, tickets, events, bootstrap",
         (SERVER_INPUTS + "test_a_revoked_token_is_refused_everywhere_and_its_push_applies_nothing",)),
    Case("server-auth-60kb", "server",
         "a 60 kB bearer token",
         (SERVER_INPUTS + "test_a_forged_authorization_header_is_a_401[60-kB-token]",)),
    Case("server-auth-control", "server",
         "control characters in the bearer token",
         (SERVER_INPUTS + "test_a_forged_authorization_header_is_a_401[control-characters]",)),
    Case("server-auth-wildcard", "server",
         "a LIKE wildcard as the bearer token",
         (SERVER_INPUTS + "test_a_forged_authorization_header_is_a_401[like-wildcard]",)),
    Case("server-auth-basic", "server",
         "HTTP Basic credentials instead of a token",
         (SERVER_INPUTS + "test_a_forged_authorization_header_is_a_401[basic-scheme]",)),
    Case("server-auth-empty", "server",
         "the Bearer scheme with no token",
         (SERVER_INPUTS + "test_a_forged_authorization_header_is_a_401[scheme-only]",)),
    Case("server-foreign-ticket-ids", "server",
         "another group's ticket id in reply, note, tag, status, subject, priority, handle time, merge (both ways) "
         "and link",
         (SERVER_INPUTS + "test_another_groups_ticket_id_in_any_ticket_mutation_is_not_found",)),
    Case("server-foreign-customer-merge", "server",
         "another group's customer merged into the agent's own, and the reverse, pushed over HTTP",
         (SERVER_INPUTS + "test_another_groups_customer_cannot_be_merged_over_http",)),
    Case("server-sql-in-query", "server",
         "SQL, quotes and wildcards in the REST query; another group's secret words and address",
         (SERVER_INPUTS + "test_sql_in_a_query_is_text_and_finds_nothing_of_another_group",)),
    Case("server-private-tables", "server",
         "bootstrap and row reads of the token, client, result and schema tables",
         (SERVER_INPUTS + "test_a_table_outside_the_shared_ones_is_refused_by_name",)),
    Case("server-escapes-in-push", "server",
         "NUL, ESC, OSC 52, BiDi and action markup in a pushed subject and body",
         (SERVER_INPUTS + "test_terminal_escapes_and_nul_in_pushed_text_are_stored_visible",)),
    Case("server-lone-surrogate", "server",
         "a lone UTF-16 surrogate escaped in pushed JSON text",
         (SERVER_INPUTS + "test_a_lone_surrogate_in_pushed_text_is_refused_naming_the_field",)),
    Case("server-survey-too-deep", "server",
         "a customer's survey answer nested thousands deep",
         (SERVER_INPUTS + "test_a_survey_answer_nested_too_deeply_is_malformed_json_and_the_survey_stays_open",)),
    Case("server-presence", "server",
         "markup as a presence state; presence on another group's ticket",
         (SERVER_INPUTS + "test_a_presence_state_or_ticket_of_another_group_is_refused",)),
    Case("server-forged-numbers", "server",
         "huge, negative and exponent cursors, ticket numbers and mutation ids; forged page cursors and row keys; "
         "NUL bytes — and none of it in the log",
         (FORGED_INPUTS + "test_forged_numbers_cursors_and_keys_are_4xx_errors_naming_the_field",)),
    Case("server-db-failure-log", "server",
         "a failure of our own: a JSON 500 whose log holds no SQL, parameters or values",
         (FORGED_INPUTS + "test_a_database_failure_is_a_json_500_logged_without_sql",)),
    Case("server-malformed-requests", "server",
         "truncated JSON, an unknown mutation, an oversized batch and body, a huge page, wrong types",
         (API + "test_malformed_requests_get_a_4xx_json_error_naming_the_problem",)),
    Case("server-owned-fields", "server",
         "server-owned fields (number, agent_id) smuggled into a push",
         (API + "test_server_owned_fields_in_a_mutation_are_refused",)),
    Case("cli-foreign-group-read", "cli",
         "an agent of a standalone workspace (which holds every group's tickets) naming another group's "
         "ticket by number, #number, id and id prefix to show, history, sla show, attachments; listing, "
         "searching and exporting; a customer's record and timeline, and the ticket counts of namesakes; "
         "report trends; a bulk change by query or by another group's number",
         ("tests/cli/test_visibility.py::test_another_groups_ticket_is_not_found_by_show_and_looks_like_a_missing_one",
          "tests/cli/test_visibility.py::test_the_other_ticket_reads_keep_to_the_agents_tickets_too",
          "tests/cli/test_visibility.py::test_an_agent_exports_only_what_they_may_see",
          "tests/cli/test_visibility.py::test_a_customers_record_lists_only_the_tickets_the_agent_may_see",
          "tests/cli/test_visibility.py::test_namesakes_are_listed_with_the_count_of_the_agents_tickets",
          "tests/cli/test_bulk.py::test_an_agent_s_bulk_change_selects_only_the_tickets_they_may_see",
          "tests/cli/test_visibility.py::test_group_names_that_look_like_sql_stay_parameters",
          "tests/cli/test_fast_reads.py::test_the_fast_path_prints_what_typer_prints[agent]",
          "tests/cli/test_assist_commands.py::test_report_trends_as_an_agent_counts_and_names_only_their_tickets")),
    Case("console-foreign-group-read", "console",
         "an agent's console on a standalone workspace (which holds every group's tickets): every saved "
         "view, its count, every sort, free text, number: and ~\"…\" searches; another group's number "
         "typed as a merge or link target; the ticket pane pointed at another group's ticket; a customer "
         "whose tickets cross groups, in the pane and counted in the customer picker; another group's "
         "ticket that says a ~\"…\" term's words exactly",
         (VISIBILITY_CONSOLE + "test_an_agent_s_queue_and_counts_are_the_rule_row_for_row",
          VISIBILITY_CONSOLE + "test_an_agent_s_sorts_and_last_row_are_the_rule",
          VISIBILITY_CONSOLE + "test_search_does_not_reveal_another_group_s_tickets",
          VISIBILITY_CONSOLE + "test_a_search_by_meaning_keeps_to_the_agent_s_tickets",
          VISIBILITY_CONSOLE + "test_another_group_s_number_is_no_ticket_to_merge_into",
          VISIBILITY_CONSOLE + "test_the_pane_on_another_group_s_ticket_is_a_notification_and_no_content",
          VISIBILITY_CONSOLE + "test_a_ticket_moved_to_another_group_while_open_leaves_the_pane",
          VISIBILITY_CONSOLE + "test_the_customer_s_other_tickets_leave_out_another_group_s",
          VISIBILITY_CONSOLE + "test_the_customer_picker_counts_only_the_agent_s_tickets",
          "tests/assist/test_semantic_term.py::test_another_groups_tickets_do_not_change_what_an_agent_finds")),
    Case("server-foreign-group-read", "server",
         "another group's ticket by number, search, pull, note, row read and presence",
         (API + "test_an_agent_of_one_group_cannot_read_pull_or_push_into_anothers_tickets",)),
    Case("server-light-agent", "server",
         "a light agent pushing a public reply",
         (API + "test_light_agents_write_internal_notes_only",)),
    Case("server-admin-endpoints", "server",
         "an agent calling the admin endpoints",
         (API + "test_admin_endpoints_are_for_admins",)),
    Case("server-forged-author", "server",
         "a pushed message claiming the customer as author, inbound direction, DMARC pass or a signed reference",
         (MESSAGE_ORIGIN + "test_an_agent_cannot_write_as_the_customer_or_with_channel_metadata",)),
    Case("server-system-mutations", "server",
         "pushing a customer's message, a rule's auto-reply or a survey answer",
         (MESSAGE_ORIGIN + "test_only_the_server_adds_customer_messages_auto_replies_and_survey_answers",)),
    Case("server-revoke-wildcard", "server",
         "`server token revoke '%'`, '_%' and a prefix",
         (TOKENS + "test_revoke_matches_one_whole_token_id_never_a_pattern",)),
    Case("server-expired-token", "server",
         "a token used after its --expires",
         (TOKENS + "test_tokens_expire_when_told_and_say_so",)),
    Case("server-guessing-tokens", "server",
         "guessing tokens from one address, with a forged X-Forwarded-For",
         (TOKENS + "test_bad_tokens_from_one_address_are_throttled_and_other_addresses_are_not",)),
    Case("server-stream-revoked", "server",
         "an open event stream after its token is revoked or its agent deactivated",
         (STREAMS + "test_a_stream_ends_when_its_token_is_revoked_or_its_agent_deactivated",)),
    Case("server-stream-regrouped", "server",
         "an open event stream after its agent's groups change",
         (STREAMS + "test_a_stream_ends_when_the_agents_groups_change_and_reconnects_with_the_new_scope",)),
    Case("server-stream-flood", "server",
         "more event streams than a token may hold",
         (STREAMS + "test_a_token_holds_at_most_four_streams_and_others_are_not_affected",)),
    Case("server-slow-headers", "server",
         "headers that never finish (slowloris)",
         (READ_TIMEOUTS + "test_headers_that_never_finish_are_cut_after_the_header_timeout",)),
    Case("server-slow-body", "server",
         "a body trickled byte by byte",
         (READ_TIMEOUTS + "test_a_trickling_body_is_cut_after_the_body_timeout",)),
    Case("server-survey-forged", "server",
         "forged, unknown, tampered and malformed survey links and answers",
         (FEEDBACK + "test_forged_unknown_and_malformed_answers_are_refused_and_change_nothing",)),
    Case("server-survey-race", "server",
         "racing answers to one survey link",
         (FEEDBACK + "test_racing_answers_to_one_link_record_exactly_one",)),
    Case("server-erase-by-agent", "erasure",
         "an agent pushing customer.erase; an erase replayed",
         (RULES + "test_only_an_admin_erases_and_a_replay_erases_nothing_twice",)),
    # --- the command line --------------------------------------------------------------------------
    Case("cli-import-deep-jsonl", "cli",
         "an import line of arrays nested 100,000 deep",
         (CLI_INPUTS + "test_an_import_line_nested_too_deeply_is_a_user_error",)),
    Case("cli-import-nan", "cli",
         "NaN, Infinity and -Infinity (which JSON does not have) in an import line, a CSV cell and a Zendesk export",
         (CLI_INPUTS + "test_nan_and_infinity_in_an_import_are_not_json",)),
    Case("cli-import-deep-csv", "cli",
         "an import CSV cell nested 100,000 deep",
         (CLI_INPUTS + "test_an_import_csv_cell_nested_too_deeply_is_a_user_error",)),
    Case("cli-number-40-digits", "cli",
         "a 40-digit ticket number",
         (CLI_INPUTS + "test_a_forged_ticket_number_is_not_found[forty-digits]",)),
    Case("cli-number-int64", "cli",
         "a ticket number past 64 bits",
         (CLI_INPUTS + "test_a_forged_ticket_number_is_not_found[past-int64]",)),
    Case("cli-number-negative", "cli",
         "a negative ticket number",
         (CLI_INPUTS + "test_a_forged_ticket_number_is_not_found[negative]",)),
    Case("cli-number-hex", "cli",
         "a hexadecimal ticket number",
         (CLI_INPUTS + "test_a_forged_ticket_number_is_not_found[hexadecimal]",)),
    Case("cli-number-sql", "cli",
         "SQL after a ticket number",
         (CLI_INPUTS + "test_a_forged_ticket_number_is_not_found[sql]",)),
    Case("cli-number-wildcard", "cli",
         "a LIKE wildcard as a ticket number",
         (CLI_INPUTS + "test_a_forged_ticket_number_is_not_found[like-wildcard]",)),
    Case("cli-who-percent", "cli",
         "'%' as the customer to erase or merge and the agent to assign",
         (CLI_INPUTS + "test_a_wildcard_never_names_a_customer_or_an_agent[percent]",)),
    Case("cli-who-underscore", "cli",
         "'_%' as customer and agent",
         (CLI_INPUTS + "test_a_wildcard_never_names_a_customer_or_an_agent[underscore-percent]",)),
    Case("cli-who-star", "cli",
         "'*' as customer and agent",
         (CLI_INPUTS + "test_a_wildcard_never_names_a_customer_or_an_agent[star]",)),
    Case("cli-who-sql", "cli",
         "SQL as customer and agent",
         (CLI_INPUTS + "test_a_wildcard_never_names_a_customer_or_an_agent[sql]",)),
    Case("cli-who-any-address", "cli",
         "'%@%' as customer and agent",
         (CLI_INPUTS + "test_a_wildcard_never_names_a_customer_or_an_agent[any-address]",)),
    Case("cli-body-file", "cli",
         "a body file that is not UTF-8, one over a million characters, one that is missing",
         (CLI_INPUTS + "test_a_body_file_that_is_not_utf8_or_too_long_writes_nothing",)),
    Case("cli-tag-markup", "cli",
         "action markup as a tag",
         (CLI_INPUTS + "test_a_hostile_tag_is_refused_and_the_tags_stay[markup]",)),
    Case("cli-tag-escape", "cli",
         "an escape sequence in a tag",
         (CLI_INPUTS + "test_a_hostile_tag_is_refused_and_the_tags_stay[escape]",)),
    Case("cli-tag-long", "cli",
         "an 81-character tag",
         (CLI_INPUTS + "test_a_hostile_tag_is_refused_and_the_tags_stay[81-characters]",)),
    Case("cli-tag-bidi", "cli",
         "a right-to-left override in a tag",
         (CLI_INPUTS + "test_a_hostile_tag_is_refused_and_the_tags_stay[bidi]",)),
    Case("cli-tag-nul", "cli",
         "a NUL in a tag",
         (CLI_INPUTS + "test_a_hostile_tag_is_refused_and_the_tags_stay[nul]",)),
    Case("cli-tag-alphabet", "cli",
         "letters and punctuation outside the tag alphabet",
         (CLI_INPUTS + "test_a_hostile_tag_is_refused_and_the_tags_stay[outside-the-tag-alphabet]",)),
    Case("cli-not-a-workspace", "cli",
         "a workspace file that is not a database; a folder that is no workspace",
         (CLI_INPUTS + "test_a_file_that_is_not_a_workspace_is_one_line",)),
    Case("cli-requester-newline", "cli",
         "CR/LF and escapes in a requester address (header injection)",
         (CLI_INPUTS + "test_a_requester_address_with_a_newline_never_makes_a_header",)),
    Case("cli-replayed-import", "cli",
         "the same import file run twice",
         (CLI_INPUTS + "test_a_replayed_import_adds_nothing",)),
    Case("cli-import-bad-records-in-a-chunk", "cli",
         "an import file whose records are bad in the middle of a chunk: no requester, an unknown one, "
         "a ticket id twice, a message id already here or twice in one record",
         ("tests/cli/test_import_chunks.py::test_a_chunked_import_leaves_the_workspace_one_ticket_at_a_time_leaves",
          "tests/cli/test_import_chunks.py::test_a_chunk_that_cannot_be_written_whole_goes_in_one_ticket_at_a_time")),
    Case("cli-import-out-of-range", "cli",
         "an import record whose ticket number or attachment size is past a column's integer, or whose "
         "time has no UTC (9999-12-31T23:59:59-05:00)",
         ("tests/cli/test_import_chunks.py::test_a_number_or_size_too_large_for_the_database_refuses_its_ticket_alone",
          "tests/cli/test_import_chunks.py::test_a_time_past_the_calendars_end_in_utc_refuses_its_ticket_alone")),
    Case("cli-import-rt-rest-pages-and-url", "cli",
         "a running RT whose pages are shortened by the agent's rights, or that promises more pages forever; "
         "a --url carrying user:password; a time with no UTC",
         ("tests/cli/test_import_rt_rest.py::test_a_short_page_is_not_the_last_when_rt_says_more_follow",
          "tests/cli/test_import_rt_rest.py::test_empty_pages_that_always_promise_more_end",
          "tests/cli/test_import_rt_rest.py::test_a_password_in_the_url_is_refused_and_never_shown",
          "tests/cli/test_import_rt_rest.py::test_a_time_rt_sends_that_is_no_time_is_one_line[9999-12-31T23:59:59-05:00]")),
    Case("cli-hostile-output", "cli",
         "escape sequences, BiDi and markup in a subject, in every output format",
         (SAFETY_AND_SETTINGS + "test_a_hostile_subject_never_reaches_stdout_raw[--plain]",
          SAFETY_AND_SETTINGS + "test_a_hostile_subject_never_reaches_stdout_raw[--json]")),
    Case("cli-hostile-everywhere", "cli",
         "hostile text through show, update, customers and export",
         (SAFETY_AND_SETTINGS + "test_hostile_text_is_safe_in_every_other_command",)),
    Case("cli-our-bug", "cli",
         "an exception of our own inside a command: one line, exit 4, no traceback",
         (ERROR_EDGE + "test_a_bug_inside_a_command_is_one_line_and_exit_4",)),
    Case("cli-stale-reply", "cli",
         "a reply from a workspace that has not pulled the customer's newest message",
         (BINDING + "test_a_reply_from_a_stale_cli_workspace_is_refused_and_kept_as_a_draft",)),
    # --- the query language ------------------------------------------------------------------------
    Case("query-nul", "query",
         "a NUL byte in a query",
         (CLI_INPUTS + "test_a_hostile_query_is_exit_2_naming_the_position[nul]",)),
    Case("query-too-long", "query",
         "10,000 nested parentheses",
         (CLI_INPUTS + "test_a_hostile_query_is_exit_2_naming_the_position[deep-parentheses]",)),
    Case("query-huge-number", "query",
         "a 30-digit ticket number",
         (CLI_INPUTS + "test_a_hostile_query_is_exit_2_naming_the_position[huge-number]",)),
    Case("query-year-99999", "query",
         "a date in the year 99999",
         (CLI_INPUTS + "test_a_hostile_query_is_exit_2_naming_the_position[year-99999]",)),
    Case("query-negative-age", "query",
         "a negative eleven-digit age",
         (CLI_INPUTS + "test_a_hostile_query_is_exit_2_naming_the_position[negative-age]",)),
    Case("query-sql-shaped", "query",
         "SQL-shaped boolean injection",
         (CLI_INPUTS + "test_a_hostile_query_is_exit_2_naming_the_position[sql-shaped]",)),
    Case("query-any-string", "query",
         "any string at all (property test): parses or fails cleanly, values bound, never SQL",
         (QUERY + "test_any_string_parses_or_fails_cleanly_and_never_breaks_sql",
          QUERY + "test_values_are_bound_parameters_never_sql")),
    # --- the console -------------------------------------------------------------------------------
    Case("console-assist-similar", "console",
         "markup and escape sequences in a similar ticket's reply; another group's similar ticket; "
         "another group's solved twins by the dozen",
         (ASSIST_CONSOLE + "test_similar_tickets_solved_first_open_with_enter_and_never_another_groups",
          ASSIST_CONSOLE + "test_an_agents_similar_tickets_are_not_crowded_out_by_another_groups")),
    Case("console-assist-summary", "console",
         "markup and escape sequences in a sentence the summary quotes",
         (ASSIST_CONSOLE + "test_a_long_ticket_shows_its_summary_and_it_folds",)),
    Case("console-assist-trends", "console",
         "markup and escape sequences in a cluster label; a cluster of another group's tickets; "
         "another group's tickets counted in an agent's cluster",
         (ASSIST_CONSOLE + "test_trends_from_the_dashboard_open_a_cluster_in_the_queue",
          ASSIST_CONSOLE + "test_an_agents_trend_counts_none_of_another_groups_tickets")),
    Case("console-assist-triage", "console",
         "markup and escape sequences in a synced intent value (header and queue column)",
         (ASSIST_CONSOLE + "test_triage_fields_in_the_header_and_as_queue_columns",)),
    Case("console-click-links", "console",
         "action links (copy_to_clipboard, quit, bell) and OSC 52 in raw customer rows, clicked",
         (CONSOLE_INPUTS + "test_action_links_in_customer_text_run_nothing_and_never_write_the_clipboard",
          CONSOLE_INPUTS + "test_the_planted_ticket_really_holds_raw_bytes")),
    Case("console-refused-paste", "console",
         "a pasted reply full of escapes and markup, refused as stale",
         (CONSOLE_INPUTS + "test_a_refused_reply_full_of_escapes_keeps_its_draft_as_typed",)),
    Case("console-filter-markup", "console",
         "markup typed as a filter",
         (CONSOLE_INPUTS + "test_a_hostile_filter_is_shown_in_place_as_text_and_the_queue_stays[markup]",)),
    Case("console-filter-long", "console",
         "a 2,100-character filter pasted",
         (CONSOLE_INPUTS + "test_a_hostile_filter_is_shown_in_place_as_text_and_the_queue_stays[too-long]",)),
    Case("console-filter-number", "console",
         "a 30-digit ticket number as a filter",
         (CONSOLE_INPUTS + "test_a_hostile_filter_is_shown_in_place_as_text_and_the_queue_stays[huge-number]",)),
    Case("console-demo-hostile", "console",
         "the demo's hostile tickets (screen wipes, OSC 8 links, BiDi, markup) on every screen",
         (HOSTILE + "test_demo_hostile_tickets_show_literally_everywhere",)),
    Case("console-click-demo", "console",
         "clicking the demo's hostile subjects and header",
         (HOSTILE + "test_clicking_hostile_text_runs_nothing",)),
    Case("console-notification", "console",
         "markup in a refused tag shown in a notification",
         (HOSTILE + "test_hostile_text_in_a_notification_is_literal",)),
    Case("console-raw-rows", "console",
         "raw terminal bytes written straight into the file",
         (HOSTILE + "test_raw_rows_are_made_safe_when_drawn",)),
    Case("console-stale-reply", "console",
         "a reply typed while the customer wrote again",
         (FLOWS + "test_refused_reply_keeps_the_draft",)),
    # --- channels: mail, webhooks, SMS -------------------------------------------------------------
    Case("webhook-replay", "channels",
         "an exact replay of a signed chat webhook within its five minutes",
         (CHANNEL_INPUTS + "test_an_exact_replay_of_a_signed_webhook_stores_nothing_twice",)),
    Case("webhook-deep", "channels",
         "a signed webhook of arrays 100,000 deep",
         (CHANNEL_INPUTS + "test_a_signed_webhook_that_is_not_json_writes_nothing[arrays-100000-deep]",)),
    Case("webhook-deep-field", "channels",
         "a signed webhook field nested 5,000 deep",
         (CHANNEL_INPUTS + "test_a_signed_webhook_that_is_not_json_writes_nothing[a-field-5000-deep]",)),
    Case("webhook-not-utf8", "channels",
         "a signed webhook that is not UTF-8",
         (CHANNEL_INPUTS + "test_a_signed_webhook_that_is_not_json_writes_nothing[not-utf8]",)),
    Case("webhook-nul", "channels",
         "a signed webhook of NUL bytes",
         (CHANNEL_INPUTS + "test_a_signed_webhook_that_is_not_json_writes_nothing[nul-bytes]",)),
    Case("webhook-empty", "channels",
         "a signed empty webhook",
         (CHANNEL_INPUTS + "test_a_signed_webhook_that_is_not_json_writes_nothing[empty]",)),
    Case("webhook-cross-channel", "channels",
         "a social message carrying a chat conversation's id",
         (CHANNEL_INPUTS + "test_a_chat_conversation_id_cannot_reach_another_channels_ticket",)),
    Case("mail-bytes", "channels",
         "a mail of NUL bytes, OSC 52, screen wipes, BiDi and broken UTF-8",
         (CHANNEL_INPUTS + "test_a_mail_of_nul_bytes_escapes_and_broken_utf8_is_one_ticket_stored_visible",)),
    Case("mail-replay", "channels",
         "the same mail delivered again",
         (CHANNEL_INPUTS + "test_a_replayed_mail_is_stored_once",
          MAIL_INGEST + "test_a_redelivered_mail_is_not_a_second_ticket")),
    Case("mail-agent-from", "channels",
         "an agent's address forged in a From",
         (CHANNEL_INPUTS + "test_a_mail_from_an_agents_address_is_still_the_customers_word",)),
    Case("mail-merge-takeover", "channels",
         "a customer.merge meant to redirect a conversation's replies to the attacker",
         (MAIL_TRUST + "test_a_merge_cannot_redirect_a_conversations_replies_to_the_attacker",
          SERVER_MAIL + "test_a_merged_away_requester_still_gets_the_replies_through_the_server")),
    Case("mail-auth-results", "channels",
         "Authentication-Results forged by anyone but our receiving server",
         (MAIL_TRUST + "test_authentication_results_are_believed_only_from_our_receiving_server",
          MAIL_TRUST + "test_without_a_configured_authserv_id_no_verdict_is_believed")),
    Case("mail-subject-tag", "channels",
         "an unverified sender threading by a subject tag alone",
         (MAIL_TRUST + "test_an_unverified_sender_never_joins_a_ticket_by_its_subject_tag_alone",
          MAIL_INGEST + "test_a_sender_that_failed_authentication_cannot_thread_by_tag")),
    Case("mail-forged-references", "channels",
         "forged References and another customer's tag",
         (MAIL_INGEST + "test_forged_references_and_foreign_tags_never_reach_another_customers_ticket",)),
    Case("mail-auto-reply-flood", "channels",
         "a flood of mail from many addresses to exhaust auto-replies",
         (MAIL_TRUST + "test_auto_replies_have_a_global_cap_per_window",
          MAIL_INGEST + "test_auto_replies_to_one_address_are_capped")),
    Case("mail-subject-newline", "channels",
         "an encoded newline in a subject, to inject a header",
         (MAIL_INGEST + "test_an_encoded_newline_in_a_subject_never_becomes_a_header",)),
    Case("mail-corpus", "channels",
         "the hostile corpus: 30 MB, a thousand parts, deep nesting, lying charsets, broken base64, hostile names",
         (MAIL_INGEST + "test_the_whole_hostile_corpus_ingests_one_outcome_per_mail",
          MAIL_PARSE + "test_garbage_headers_never_raise")),
    Case("mail-hostile-html", "channels",
         "hidden text, scripts, javascript: links and 100,000 levels of HTML",
         (PIECES + "test_hostile_html_is_bounded",)),
    Case("mail-relay-tls", "channels",
         "a relay that strips STARTTLS to read the password",
         (DELIVERY + "test_the_relay_password_never_crosses_without_tls_unless_the_config_says_so",)),
    Case("webhook-signatures", "channels",
         "unsigned, wrongly signed, stale and another channel's signatures",
         (WEBHOOKS + "test_an_unsigned_or_stale_webhook_changes_nothing",
          SERVER_WEBHOOKS + "test_webhook_signatures_and_fields_over_http")),
    Case("sms-hostile", "channels",
         "a hostile SMS payload; one signed with another secret or replayed late",
         (SMS + "test_a_hostile_sms_payload_is_refused_naming_the_field",
          SMS + "test_an_sms_signed_with_another_secret_or_replayed_late_changes_nothing")),
    Case("mail-over-http", "channels",
         "raw mail posted over HTTP by an agent without the email token",
         (SERVER_MAIL + "test_raw_mail_over_http_needs_an_admin_or_the_email_token",)),
    # --- sync and login ----------------------------------------------------------------------------
    Case("sync-revoked", "sync",
         "a sync after the token was revoked, with a note unsent",
         (SYNC_INPUTS + "test_a_sync_after_the_token_was_revoked_is_exit_4_and_keeps_the_unsent_note",)),
    Case("login-token-crlf", "sync",
         "a token carrying CR/LF and a header",
         (SYNC_INPUTS + "test_a_hostile_token_at_login_is_one_line_and_stores_nothing[header-injection]",)),
    Case("login-token-nul", "sync",
         "a token of NUL and escapes",
         (SYNC_INPUTS + "test_a_hostile_token_at_login_is_one_line_and_stores_nothing[nul-and-escape]",)),
    Case("login-token-unicode", "sync",
         "a token that is not ASCII",
         (SYNC_INPUTS + "test_a_hostile_token_at_login_is_one_line_and_stores_nothing[not-ascii]",)),
    Case("login-token-huge", "sync",
         "a 100 kB token",
         (SYNC_INPUTS + "test_a_hostile_token_at_login_is_one_line_and_stores_nothing[100-kB]",)),
    Case("login-token-wildcards", "sync",
         "wildcards and a space in a token",
         (SYNC_INPUTS + "test_a_hostile_token_at_login_is_one_line_and_stores_nothing[wildcards-and-space]",)),
    Case("sync-token-file", "sync",
         "a token file edited to carry CR/LF, escapes or bytes that are not text",
         (SYNC_INPUTS + "test_a_hostile_token_file_is_one_line_and_sends_nothing",)),
    Case("login-file-url", "sync",
         "a file:// server address",
         (SYNC_INPUTS + "test_a_hostile_server_address_at_login_is_one_line[file-url]",)),
    Case("login-javascript-url", "sync",
         "a javascript: server address",
         (SYNC_INPUTS + "test_a_hostile_server_address_at_login_is_one_line[javascript-url]",)),
    Case("login-nothing-listening", "sync",
         "a server address where nothing listens",
         (SYNC_INPUTS + "test_a_hostile_server_address_at_login_is_one_line[nothing-listening]",)),
    Case("login-url-newline", "sync",
         "CR/LF and a Host header in the server address",
         (SYNC_INPUTS + "test_a_hostile_server_address_at_login_is_one_line[newline-in-url]",)),
    Case("sync-other-agent", "sync",
         "another agent's login or token on a filled workspace",
         (BINDING + "test_a_workspace_refuses_another_agents_login_and_token",)),
    Case("sync-lock-symlink", "sync",
         "a symbolic link in place of the sync lock",
         (ROUND_LOCK + "test_a_symbolic_link_in_place_of_the_lock_is_refused_and_its_target_untouched",)),
    Case("sync-lock-garbage", "sync",
         "garbage written into the sync lock",
         (ROUND_LOCK + "test_garbage_in_the_lock_file_is_overwritten_and_never_trusted",)),
    Case("sync-overlap", "sync",
         "two sync rounds on one workspace at once",
         (OVERLAP + "test_an_older_round_never_writes_over_a_newer_one[sqlite]",
          OVERLAP + "test_a_rebase_prepared_before_another_round_moved_the_cursor_writes_nothing")),
    Case("sync-replayed-pushes", "sync",
         "a client that dies after the server committed, and replays",
         (EXACTLY_ONCE + "test_the_client_dies_after_the_server_committed_and_the_replay_duplicates_nothing[sqlite]",)),
    # --- the write path ----------------------------------------------------------------------------
    Case("domain-merge-takeover", "domain",
         "an agent merging another group's customer into their own",
         (TRUST + "test_an_agent_cannot_merge_another_groups_customer_into_their_own",
          TRUST + "test_a_customer_who_only_wrote_in_another_groups_ticket_counts")),
    Case("domain-merge-requesters", "domain",
         "merging tickets of different requesters without confirmation; another group's ticket confirmed",
         (TRUST + "test_merging_tickets_of_different_requesters_needs_confirmation_and_is_audited",
          TRUST + "test_a_ticket_of_another_group_cannot_be_merged_into_even_when_confirmed")),
    Case("domain-log-call", "domain",
         "log_call onto another group's ticket, or with a forged group id",
         (TRUST + "test_log_call_cannot_put_the_caller_on_another_groups_ticket",
          TRUST + "test_log_call_on_another_groups_existing_ticket_is_not_found",
          TRUST + "test_log_call_with_a_forged_group_id_is_not_found")),
    Case("domain-macro-bomb", "domain",
         "macros of nested loops, huge repeats, widths, recursion and format strings",
         (MACRO_LIMITS + "test_three_nested_loops_stop_at_the_step_limit",
          MACRO_LIMITS + "test_a_hostile_macro_is_refused_when_applied",
          MACRO_LIMITS + "test_no_write_lock_is_held_while_a_macro_renders")),
    Case("domain-field-values", "domain",
         "field values outside their choices, keys the field table lacks",
         (TICKET_FIELDS + "test_the_write_path_refuses_what_a_field_does_not_take",)),
    Case("domain-text-sanitising", "domain",
         "every terminal control sequence, markup and over-long bodies (property test)",
         (TEXT_SAFETY + "test_every_hostile_sequence_becomes_visible",
          TEXT_SAFETY + "test_sanitize_is_idempotent_and_leaves_nothing_unsafe")),
    # --- erasure -----------------------------------------------------------------------------------
    Case("erasure-every-byte", "erasure",
         "searching raw database, WAL, replica and attachment bytes for an erased customer",
         (EVERY_BYTE + "test_an_erasure_leaves_no_byte_of_the_customer_anywhere[sqlite]",)),
    Case("erasure-stays", "erasure",
         "text pushed later to an erased customer's ticket; a mail answering their old thread",
         (RULES + "test_an_erased_customer_stays_erased",
          RULES + "test_a_new_mail_answering_an_erased_customers_thread_is_a_new_ticket")),
    Case("erasure-hash-paths", "erasure",
         "a tombstone whose file hash is a path (../../etc)",
         (RULES + "test_attachment_files_are_removed_by_hash_only_and_overwritten_first",
          RULES + "test_a_malformed_tombstone_is_ignored")),
    # --- files on disk -----------------------------------------------------------------------------
    # --- automations and the time log (issue 17) ----------------------------------------------------
    Case("automation-replay", "domain",
         "an automation run replayed or repeated on tickets still in its condition; fires nothing twice",
         (AUTOMATIONS + "test_remind_then_solve_as_days_pass_each_firing_once",
          AUTOMATIONS + "test_a_ticket_still_in_the_condition_never_fires_twice")),
    Case("automation-loop", "domain",
         "an automation whose actions re-enter its own condition and would start triggers",
         (AUTOMATIONS + "test_an_automation_cannot_loop_or_start_triggers",)),
    Case("automation-malformed", "domain",
         "automations without a time condition, searching by meaning, assignee:me, over-long, mixed when",
         (AUTOMATIONS + "test_malformed_automations_are_refused_when_saved",)),
    Case("automation-other-group", "domain",
         "an automation kept to one group meeting another group's ticket; an agent running one",
         (AUTOMATIONS + "test_conditions_beside_the_query_keep_to_a_group",
          AUTOMATIONS + "test_only_admins_run_or_write_automations",
          TIME_CLI + "test_run_automations_refuses_what_is_not_an_automation")),
    Case("time-log-malformed", "cli",
         "malformed, negative, zero, huge and escape-laden durations for tickets time",
         (TIME_CLI + "test_malformed_negative_and_huge_times_are_one_line_errors",
          TIME_LOG + "test_the_mutation_refuses_seconds_out_of_bounds_or_not_whole_minutes")),
    Case("time-log-other-group", "domain",
         "logging or changing time on another group's ticket, or another agent's entry, or its id",
         (TIME_LOG + "test_another_groups_ticket_and_its_entries_are_not_found",
          TIME_LOG + "test_log_correct_and_delete_own_entries_only",
          TIME_LOG + "test_the_system_logs_no_time_and_an_entry_id_is_never_overwritten")),
    Case("console-rule-yaml", "console",
         "a YAML alias bomb, broken YAML or a refused rule in the console's rule editor; the draft kept",
         (RULES_CONSOLE + "test_the_rule_editor_refuses_aliases_huge_drafts_and_non_rules",
          RULES_CONSOLE + "test_rules_screen_writes_a_new_automation_and_keeps_a_refused_draft")),
    Case("cli-yaml-alias-bomb", "cli",
         "a YAML alias bomb (billion laughs) or any anchor in rules, sla or macros import",
         ("tests/cli/test_yaml_aliases.py::test_imports_refuse_anchors_and_aliases_in_one_line",
          "tests/cli/test_yaml_aliases.py::test_the_loader_refuses_an_alias_without_an_anchor_it_could_follow")),
    Case("sync-notice-escapes", "sync",
         "escape sequences, newlines and malformed or oversized notices in /v1/me's admin notices",
         ("tests/sync/test_notices.py::test_a_notice_with_escape_sequences_arrives_as_one_safe_line",
          "tests/sync/test_notices.py::test_malformed_notices_are_ignored")),
    Case("server-survey-wide-comment", "server",
         "a survey comment at or over the schema's length in wide characters (emoji, CJK; JSON or form)",
         (FEEDBACK + "test_every_answer_the_schema_allows_fits_whatever_its_characters",)),
    Case("files-secure-delete", "files",
         "reading freed pages of a database for deleted text",
         (FILES + "test_every_connection_deletes_securely",
          FILES + "test_a_deleted_rows_text_leaves_the_file")),
    Case("files-modes", "files",
         "another user of the machine reading the databases and attachments",
         (PRIVATE_FILES + "test_the_server_database_and_its_attachments_folder_are_private",
          PRIVATE_FILES + "test_a_workspace_file_and_its_attachments_folder_are_private")),
    # the answer bot and the web form's files (issue 14)
    Case("help-bot-links", "server",
         "a customer forging, replaying or crossing the answer bot's yes/no links, or another customer's ticket id",
         ("tests/help/test_answer_bot.py::test_links_are_signed_for_one_ticket_and_one_verdict",
          "tests/help/test_answer_bot_live.py::test_forged_and_crossed_links_are_refused",
          "tests/help/test_answer_bot_live.py::test_no_sends_the_request_to_the_queue_and_links_work_once")),
    Case("help-bot-writes", "server",
         "an agent's client pushing the bot's answer or a customer's verdict; the bot answering twice",
         ("tests/help/test_answer_bot.py::test_an_agent_may_not_write_as_the_bot",
          "tests/help/test_answer_bot.py::test_the_mutation_itself_answers_a_ticket_once")),
    Case("help-form-files", "files",
         "a customer's files on the web form: too large, too many, programs, paths and escapes in names",
         ("tests/help/test_form_attachments.py::test_refused_files_leave_nothing_behind",
          "tests/help/test_form_attachments.py::test_files_arrive_on_the_first_message_under_clean_names",
          "tests/help/test_form_attachments.py::test_a_malformed_body_is_refused_plainly")),
    # --- attachments through the channels and the console (issue 16) ------------------------------
    Case("channels-file-link-forged", "channels",
         "a signed file link forged, re-signed, moved to another file, renamed, extended or expired",
         ("tests/channels/test_server_webhook_files.py::test_files_come_in_by_webhook_and_go_out_by_signed_link",
          WEBHOOK_FILES + "test_a_link_checks_out_only_for_its_file_name_and_time")),
    Case("channels-webhook-file-names", "channels",
         "a webhook file named with ../, escape sequences and bidi overrides, a program declared as a PDF",
         (WEBHOOK_FILES + "test_a_chat_file_lands_in_the_blob_store_with_a_clean_name_and_both_types",)),
    Case("channels-webhook-file-limits", "channels",
         "webhook files past the per-file, per-message and per-ticket limits, a body over the mail limit",
         (WEBHOOK_FILES + "test_files_past_the_limits_are_skipped_and_listed_never_stored",
          WEBHOOK_FILES + "test_a_tickets_file_count_limit_holds_across_messages",
          WEBHOOK_FILES + "test_a_body_over_the_mail_limit_is_refused")),
    Case("channels-webhook-file-malformed", "channels",
         "malformed base64, a 101st file, a url to make the server fetch",
         (WEBHOOK_FILES + "test_malformed_base64_refuses_the_body_and_writes_nothing",
          WEBHOOK_FILES + "test_unknown_file_fields_and_too_many_files_are_refused")),
    Case("console-file-open", "console",
         "a file name of markup and escape sequences, a program posing as a PDF, escape sequences for $PAGER",
         (CONSOLE_FILES + "test_open_save_and_preview_from_the_timeline",)),
    Case("poke-forged-shape", "sync",
         "a poke with a range that is not one, a seq past what SQLite holds, records outside the range or "
         "out of order, rows of the wrong shape or of a local table: refused whole with a WARNING, nothing applied",
         ("tests/sync/test_poke_trust.py::test_every_forged_shape_is_refused_whole_with_a_warning[sqlite]",)),
    Case("poke-seq-past-the-log", "sync",
         "a poke whose seq lies past the server's change log: the next pull rewinds, no record is skipped",
         ("tests/sync/test_poke_trust.py::"
          "test_a_poke_past_the_servers_log_moves_the_cursor_only_until_the_next_pull[sqlite]",)),
    Case("console-file-attach", "console",
         "attaching a missing file, a folder, a name of markup",
         (CONSOLE_FILES + "test_attaching_a_missing_file_or_a_folder_says_so_and_keeps_the_draft",)),
    # --- the assist engine on the server (issue 15) -------------------------------------------------
    Case("assist-duplicate-flag-forged", "domain",
         "a duplicate flag naming another requester's, another group's, a newer, a solved or an erased "
         "customer's ticket; pushed straight to the server; replayed",
         ("tests/assist/test_duplicate_flags.py::test_forged_flags_are_refused",
          "tests/assist/test_duplicate_flags.py::test_a_flag_is_once_per_ticket_and_a_replay_changes_nothing",
          "tests/assist/test_duplicate_flags.py::test_find_never_crosses_groups_and_skips_erased_customers",
          "tests/assist/test_server_duplicates.py::"
          "test_the_server_notes_a_repeat_once_and_only_within_the_requesters_group[sqlite]")),
    Case("assist-intents-yaml", "server",
         "an admins' intents file with aliases (billion laughs), deep nesting, !!python tags, bad UTF-8, "
         "4 MB+, a FIFO; serve refuses it in one line",
         ("tests/assist/test_intents_file.py::test_serve_refuses_a_bad_intents_file_before_it_starts",
          "tests/assist/test_intents_file.py::test_a_missing_file_and_a_good_one")),
]

#: Issue 12, item by item: the tests that fail on the main it was filed against.
ISSUE_12: dict[str, tuple[str, ...]] = {
    "one clock for the suite, the demo, queries, SLAs, snapshots; passes on any date": (
        CLOCK + "test_the_suite_reads_the_demo_calendar_whatever_the_date",
        CLOCK + "test_the_query_compiler_reads_the_same_clock",
        QUERY + "test_relative_times_are_ages",
    ),
    "harm 1: customer takeover by merge (who may merge; replies keep their address; confirmed, audited ticket "
    "merges)": (
        TRUST + "test_an_agent_cannot_merge_another_groups_customer_into_their_own",
        MAIL_TRUST + "test_a_merge_cannot_redirect_a_conversations_replies_to_the_attacker",
        TRUST + "test_merging_tickets_of_different_requesters_needs_confirmation_and_is_audited",
    ),
    "harm 2: erasure reaches every table, outbox, FTS, replica and attachment; secure_delete": (
        EVERY_BYTE + "test_an_erasure_leaves_no_byte_of_the_customer_anywhere[sqlite]",
        FILES + "test_every_connection_deletes_securely",
    ),
    "harm 3: erased attachment files leave the disk, server and client": (
        EVERY_BYTE + "test_an_erasure_leaves_no_byte_of_the_customer_anywhere[sqlite]",
        RULES + "test_attachment_files_are_removed_by_hash_only_and_overwritten_first",
    ),
    "harm 4: a macro cannot stall the server or another writer": (
        MACRO_LIMITS + "test_three_nested_loops_stop_at_the_step_limit",
        MACRO_LIMITS + "test_no_write_lock_is_held_while_a_macro_renders",
        MACRO_LIMITS + "test_the_mutator_never_renders",
    ),
    "overlapping sync rounds: a lock, a rebase that refuses, a refused reply still a draft": (
        OVERLAP + "test_an_older_round_never_writes_over_a_newer_one[sqlite]",
        OVERLAP + "test_a_rebase_prepared_before_another_round_moved_the_cursor_writes_nothing",
        OVERLAP + "test_a_refused_reply_whose_answer_was_lost_in_a_race_still_becomes_a_draft",
    ),
    "SSE streams re-check revocation, deactivation and groups; streams per token capped": (
        STREAMS + "test_a_stream_ends_when_its_token_is_revoked_or_its_agent_deactivated[sqlite]",
        STREAMS + "test_a_stream_ends_when_the_agents_groups_change_and_reconnects_with_the_new_scope",
        STREAMS + "test_a_token_holds_at_most_four_streams_and_others_are_not_affected",
    ),
    "a workspace is bound to its agent": (
        BINDING + "test_a_workspace_refuses_another_agents_login_and_token",
    ),
    "author, direction and channel metadata come from the authenticated actor": (
        MESSAGE_ORIGIN + "test_an_agent_cannot_write_as_the_customer_or_with_channel_metadata[sqlite]",
    ),
    "mail: Authentication-Results only from our receiving server": (
        MAIL_TRUST + "test_authentication_results_are_believed_only_from_our_receiving_server",
    ),
    "mail: an unauthenticated sender never joins by subject tag alone": (
        MAIL_TRUST + "test_an_unverified_sender_never_joins_a_ticket_by_its_subject_tag_alone",
    ),
    "mail: a global cap on auto-replies per window": (
        MAIL_TRUST + "test_auto_replies_have_a_global_cap_per_window",
    ),
    "mail: no relay login without TLS unless configured": (
        DELIVERY + "test_the_relay_password_never_crosses_without_tls_unless_the_config_says_so",
    ),
    "mail: References folded, never RFC 2047-encoded": (
        MAIL_TRUST + "test_a_long_references_chain_is_folded_between_ids_never_rfc2047_encoded",
    ),
    "server token revoke '%' revokes nothing": (
        TOKENS + "test_revoke_matches_one_whole_token_id_never_a_pattern[sqlite]",
    ),
    "forged or huge cursors and ticket numbers are a 4xx, no SQL in the log": (
        FORGED_INPUTS + "test_forged_numbers_cursors_and_keys_are_4xx_errors_naming_the_field[sqlite]",
        FORGED_INPUTS + "test_a_database_failure_is_a_json_500_logged_without_sql",
        SERVER_INPUTS + "test_a_bootstrap_key_nested_a_thousand_deep_is_a_422",
    ),
    "log_call cannot put the caller on another group's ticket": (
        TRUST + "test_log_call_cannot_put_the_caller_on_another_groups_ticket",
    ),
    "tokens expire (--expires)": (
        TOKENS + "test_tokens_expire_when_told_and_say_so[sqlite]",
    ),
    "bad tokens are throttled": (
        TOKENS + "test_bad_tokens_from_one_address_are_throttled_and_other_addresses_are_not",
    ),
    "database files 0600, attachment folders 0700": (
        PRIVATE_FILES + "test_the_server_database_and_its_attachments_folder_are_private",
        PRIVATE_FILES + "test_a_workspace_file_and_its_attachments_folder_are_private",
    ),
    "header and body read timeouts": (
        READ_TIMEOUTS + "test_headers_that_never_finish_are_cut_after_the_header_timeout",
        READ_TIMEOUTS + "test_a_trickling_body_is_cut_after_the_body_timeout",
    ),
    "a reply from a stale CLI workspace is refused and kept as a draft": (
        BINDING + "test_a_reply_from_a_stale_cli_workspace_is_refused_and_kept_as_a_draft",
    ),
    "a standing seeded fault harness (proxy, SIGKILL, overlapping rounds, clock skew, two PostgreSQL servers)": (
        FAULT_SEEDS + "test_fixed_seeds_lose_nothing_double_nothing_and_converge",
    ),
    "a hostile-input list of at least 60 cases": (
        INDEX + "test_the_list_holds_at_least_sixty_distinct_cases",
        INDEX + "test_every_proof_is_a_test_pytest_collects",
    ),
}
# fmt: on


def node_ids() -> list[str]:
    """Every node id the two tables name, each once, in order."""
    seen: dict[str, None] = {}
    for case in CATALOGUE:
        seen.update(dict.fromkeys(case.proof))
    for proofs in ISSUE_12.values():
        seen.update(dict.fromkeys(proofs))
    return list(seen)


if __name__ == "__main__":  # ``pytest $(python -m tests.hostile.catalogue)`` runs every proof
    sys.stdout.write("\n".join(node_ids()) + "\n")
