#include "config/loader.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "test_support/self_signed_cert.h"
#include "test_support/temp_dir.h"
#include "core/duration.h"

namespace tocsin::config {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;
using test_support::TempDir;

// One broken config: what the error must say, on which line, about which field.
struct Broken {
  std::string_view yaml;
  std::string_view message;  // a substring of the message
  int line;
  std::string_view field;
};

// clang-format off
const Broken kBroken[] = {
    // ---- unknown keys, duplicate keys, types ----
    {"colour: red\n", "unknown key \"colour\"; expected one of: server, auth, people", 1, "colour"},
    {R"(rules:
  - name: A
    select: up
    detector: {kind: threshold, above: 1}
    fro: 1m
)", "unknown key \"fro\"; expected one of: name, select, detector, for", 5, "rules[0].fro"},
    {R"(server:
  listen: 127.0.0.1:1
  listen: 127.0.0.1:2
)", "duplicate key \"listen\" (first on line 2)", 3, "server.listen"},
    {R"(people:
  - id: alice
    contact: {email: a@example.com, email: b@example.com}
)", "duplicate key \"email\" (first on line 3)", 3, "people[0].contact.email"},
    {"people: {id: alice}\n", "expected a list, got a map", 1, "people"},
    {"server: 5\n", "expected a map, got \"5\"", 1, "server"},
    {R"(people:
  - id: [a, b]
)", "expected a string, got a list", 2, "people[0].id"},
    {R"(people:
  - id:
    name: Alice
)", "expected a string, got nothing", 2, "people[0].id"},
    {R"(escalation_policies:
  - id: ops
    repeat: many
    levels: [{notify: ["person:alice"]}]
)", "expected a whole number, got \"many\"", 3, "escalation_policies[0].repeat"},
    {R"(channels:
  - name: mail
    type: email
    smtp: {host: localhost, from: a@example.com, starttls: maybe}
)", "expected true or false, got \"maybe\"", 4, "channels[0].smtp.starttls"},
    {R"(plans:
  - id: p
    steps:
      - {id: a, title: Check servers, find the part}
)", "unknown key \"find the part\"; expected one of: id, title, owner, due, checklist, action (a comma inside", 4, "plans[0].steps[0].find the part"},
    {R"(plans:
  - id: p
    steps:
      - {id: a, title: A, action: {type: webhook, url: "http://x/", approve: "yes"}}
)", "expected true or false, got the quoted string \"yes\"", 4, "plans[0].steps[0].action.approve"},
    {"server: {listen: [1]}\nserver: {}\n", "duplicate key \"server\" (first on line 1)", 2, "server"},
    {"a: [1, 2\n", "bad YAML", 2, ""},
    // ---- missing fields ----
    {R"(rules:
  - name: A
    detector: {kind: threshold}
)", "missing required field \"select\"", 2, "rules[0].select"},
    {R"(rules:
  - name: A
    select: up
    detector:
      above: 3
)", "missing required field \"kind\"", 4, "rules[0].detector.kind"},
    {R"(channels:
  - {name: hook, type: webhook}
)", "missing required field \"url\"", 2, "channels[0].url"},
    {R"(channels:
  - name: mail
    type: email
    smtp:
      from: tocsin@example.com
)", "missing required field \"host\"", 4, "channels[0].smtp.host"},
    {R"(channels:
  - {name: run, type: exec}
)", "missing required field \"command\"", 2, "channels[0].command"},
    {R"(routes:
  group_by: [alertname]
)", "the root route needs a receiver", 1, "routes.receiver"},
    // ---- values ----
    {R"(rules:
  - name: A
    select: up
    detector: {kind: threshold, above: 1}
    for: 5x
)", "bad duration \"5x\"", 5, "rules[0].for"},
    {R"(rules:
  - name: A
    select: up
    detector: {kind: threshold, above: 1}
    flap_window: often
)", "bad duration \"often\"", 5, "rules[0].flap_window"},
    {R"(server: {retention: 1h}
rules:
  - name: A
    select: rate(requests_total[2h])
    detector: {kind: threshold, above: 1}
)", "the range 2h is longer than server.retention (1h)", 3, "rules[0].select"},
    {"server: {retention: 0s}\n", "expected a retention longer than 0s", 1, "server.retention"},
    {R"(server:
  lease:
    ttl: 5s
    renew_every: 5s
)", "expected renew_every (5s) shorter than ttl (5s)", 4, "server.lease.renew_every"},
    {"server:\n  lease: {ttl: 0s}\n", "expected a lease ttl longer than 0s", 2, "server.lease.ttl"},
    {"server:\n  lease: {ttl: 2s, renew_every: 0s}\n", "expected a renewal interval longer than 0s", 2,
     "server.lease.renew_every"},
    {"server:\n  lease: {ttl: 2s, renew_every: soon}\n", "bad duration \"soon\"", 2, "server.lease.renew_every"},
    {"server:\n  lease: {renew_every: 20s}\n", "expected renew_every (20s) shorter than ttl (15s)", 2,
     "server.lease.renew_every"},
    {"server:\n  lease: {ttl: 15s, period: 1s}\n", "unknown key \"period\"", 2, "server.lease.period"},
    {"server:\n  replica_id: \"a b\"\n", "without white space", 2, "server.replica_id"},
    {"server:\n  advertise_url: 10.0.0.1:8470\n", "bad URL \"10.0.0.1:8470\"", 2, "server.advertise_url"},
    {R"(rules:
  - name: A
    select: 'up{job=}'
    detector: {kind: threshold, above: 1}
)", "bad select expression at offset 7: expected a quoted label value", 3, "rules[0].select"},
    {R"(rules:
  - name: A
    select: up
    detector: {kind: threshold, above: 1}
    severity: urgent
)", "bad severity \"urgent\": expected one of critical, major", 5, "rules[0].severity"},
    {R"(rules:
  - name: A
    select: up
    detector: {kind: magic}
)", "bad value \"magic\": expected one of threshold, sigma, ewma, mad, seasonal, changepoint, absent, auto", 4, "rules[0].detector.kind"},
    {R"(rules:
  - name: A
    select: up
    detector: {kind: threshold, above: 1}
    labels: {incident-type: x}
)", "bad label name \"incident-type\"", 5, "rules[0].labels.incident-type"},
    {R"(inhibit_rules:
  - source_matchers: ['severity="critical"']
    target_matchers: ['=warning']
)", "bad matcher", 3, "inhibit_rules[0].target_matchers[0]"},
    {R"(auth:
  tokens:
    - {name: cli, role: root, token_env: T}
)", "bad value \"root\": expected one of viewer, responder, admin", 3, "auth.tokens[0].role"},
    {R"(auth:
  tokens:
    - {name: cli, role: admin, token_env: T, token_file: /etc/t}
)", "expected exactly one of token_env, token_file or token_sha256", 3, "auth.tokens[0].token_env"},
    {R"(auth:
  tokens:
    - {name: cli, role: admin}
)", "expected exactly one of token_env, token_file or token_sha256", 3, "auth.tokens[0].token_env"},
    {R"(auth:
  tokens:
    - {name: cli, role: admin, token: hunter2hunter2hunter2}
)", "a token's secret must not be written in the config: use token_env (an environment variable), token_file (a file) "
    "or token_sha256 (its SHA-256)", 3, "auth.tokens[0].token"},
    {R"(auth:
  tokens:
    - {name: cli, role: admin, token_sha256: abc}
)", "expected the token's SHA-256 as 64 hex digits (sha256sum prints it)", 3, "auth.tokens[0].token_sha256"},
    {R"(auth:
  tokens:
    - {name: cli, role: admin, token_env: T}
  intake: {secret_env: A, secret_file: /b}
)", "expected exactly one of secret_env or secret_file", 4, "auth.intake.secret_env"},
    {R"(auth:
  intake: {secret_env: A}
)", "auth.intake needs auth.tokens: without tokens auth is off and intake is open to anyone", 2, "auth.intake"},
    {R"(auth:
  metrics_public: maybe
  tokens:
    - {name: cli, role: admin, token_env: T}
)", "expected true or false", 2, "auth.metrics_public"},
    {R"(server:
  store: mysql://db
)", "expected empty (embedded SQLite) or postgres://", 2, "server.store"},
    {R"(server:
  store_pool: {size: 4}
)", "store_pool sets the connections to a PostgreSQL store: it needs server.store: postgres://", 2,
     "server.store_pool"},
    {R"(server:
  store: postgres://tocsin@db/tocsin
  store_pool: {size: 0}
)", "0 is out of range: expected 1 to 64", 3, "server.store_pool.size"},
    {R"(server:
  store: postgres://tocsin@db/tocsin
  store_pool: {size: many}
)", "expected a whole number", 3, "server.store_pool.size"},
    {R"(server:
  store: postgres://tocsin@db/tocsin
  store_pool: {connections: 4}
)", "unknown key \"connections\"", 3, "server.store_pool.connections"},
    {R"(server:
  listen: localhost
)", "bad listen address \"localhost\"", 2, "server.listen"},
    {R"(people:
  - id: alice
    timezone: Mars/Olympus_Mons
)", "unknown time zone \"Mars/Olympus_Mons\"", 3, "people[0].timezone"},
    // ---- channels ----
    {R"(channels:
  - {name: p, type: pager}
)", "bad value \"pager\": expected one of webhook, slack, email, exec", 2, "channels[0].type"},
    {R"(channels:
  - {name: h, type: webhook, url: "http://x/", format: xml}
)", "bad value \"xml\": expected one of json, alertmanager", 2, "channels[0].format"},
    {R"(channels:
  - {name: s, type: slack, url: "http://x/", format: json}
)", "\"format\" does not apply to a slack channel", 2, "channels[0].format"},
    {R"(channels:
  - {name: h, type: webhook, url: "ftp://x/"}
)", "bad URL \"ftp://x/\"", 2, "channels[0].url"},
    {R"(channels:
  - {name: h, type: webhook, url: "http://x/", secret_env: S, secret_file: /etc/s}
)", "expected at most one of secret_env or secret_file", 2, "channels[0].secret_file"},
    {R"(channels:
  - {name: s, type: slack, url: "http://x/", secret_env: S}
)", "\"secret_env\" does not apply to a slack channel", 2, "channels[0].secret_env"},
    {R"(channels:
  - {name: h, type: webhook, url: "http://x/", secret_env: ""}
)", "expected a non-empty string", 2, "channels[0].secret_env"},
    {R"(server:
  ack_secret_env: ""
)", "expected a non-empty string", 2, "server.ack_secret_env"},
    {R"(server:
  trusted_proxies: [10.0.0.0/8, "10.0.0.0/33"]
)", "'10.0.0.0/33': the prefix length must be a number from 0 to 32", 2, "server.trusted_proxies[1]"},
    {R"(server:
  trusted_proxies:
    - proxy.internal
)", "'proxy.internal' is not an IP address or CIDR block", 3, "server.trusted_proxies[0]"},
    {R"(server:
  trusted_proxies: 10.0.0.1
)", "expected a list", 2, "server.trusted_proxies"},
    // ---- schedules ----
    {R"(schedules:
  - id: s
    layers:
      - {rotation: hourly, start: 2026-01-05, members: [alice]}
)", "bad value \"hourly\": expected one of daily, weekly, custom", 4, "schedules[0].layers[0].rotation"},
    {R"(schedules:
  - id: s
    layers:
      - {rotation: weekly, handoff: "09:00", start: 2026-01-05, members: [alice]}
)", "a weekly rotation expects a day and time like \"Mon 09:00\"", 4, "schedules[0].layers[0].handoff"},
    {R"(schedules:
  - id: s
    layers:
      - {rotation: daily, handoff: "Mon 09:00", start: 2026-01-05, members: [alice]}
)", "expected a time like \"09:00\"", 4, "schedules[0].layers[0].handoff"},
    {R"(schedules:
  - id: s
    layers:
      - {rotation: daily, start: 2026-13-01, members: [alice]}
)", "bad date \"2026-13-01\": expected YYYY-MM-DD", 4, "schedules[0].layers[0].start"},
    {R"(schedules:
  - id: s
    layers:
      - rotation: custom
        start: 2026-01-05
        members: [alice]
)", "a custom rotation needs shift_length", 4, "schedules[0].layers[0].shift_length"},
    {R"(schedules:
  - id: s
    overrides:
      - {person: alice, from: "2026-12-24 00:00", to: "2026-12-26T00:00"}
)", "bad time \"2026-12-24 00:00\"", 4, "schedules[0].overrides[0].from"},
    {R"(schedules:
  - id: s
    overrides:
      - person: alice
        from: "2026-12-26T00:00"
        to: "2026-12-24T00:00"
)", "`to` must be later than `from`", 6, "schedules[0].overrides[0].to"},
    // ---- escalation ----
    {R"(escalation_policies:
  - id: ops
    repeat: 2
    levels: [{notify: ["person:alice"]}]
)", "repeat > 0 needs repeat_every", 3, "escalation_policies[0].repeat_every"},
    {R"(escalation_policies:
  - id: ops
    repeat: 1
    repeat_every: 10m
    levels:
      - {after: 0m, notify: ["person:alice"]}
      - {after: 10m, notify: ["person:alice"]}
)", "repeat_every 10m must be longer than the last level's after (10m)", 4, "escalation_policies[0].repeat_every"},
    {R"(escalation_policies:
  - id: ops
    levels:
      - {after: 10m, notify: ["person:alice"]}
      - {after: 5m, notify: ["person:alice"]}
)", "after 5m must be later than the previous level's 10m", 5, "escalation_policies[0].levels[1].after"},
    {R"(escalation_policies:
  - id: ops
    levels:
      - {notify: ["team:sre"]}
)", "bad target \"team:sre\"", 4, "escalation_policies[0].levels[0].notify[0]"},
    // ---- duplicate ids ----
    {R"(people:
  - id: alice
  - id: alice
)", "duplicate person id \"alice\" (first on line 2)", 3, "people[1].id"},
    {R"(channels:
  - {name: h, type: webhook, url: "http://x/"}
  - {name: h, type: slack, url: "http://y/"}
)", "duplicate channel name \"h\"", 3, "channels[1].name"},
    {R"(schedules:
  - {id: s}
  - {id: s}
)", "duplicate schedule id \"s\"", 3, "schedules[1].id"},
    {R"(escalation_policies:
  - {id: ops, levels: [{notify: ["person:alice"]}]}
  - {id: ops, levels: [{notify: ["person:alice"]}]}
)", "duplicate escalation policy id \"ops\"", 3, "escalation_policies[1].id"},
    {R"(rules:
  - {name: A, select: up, detector: {kind: auto}}
  - {name: A, select: down, detector: {kind: auto}}
)", "duplicate rule name \"A\"", 3, "rules[1].name"},
    {R"(plans:
  - {id: p}
  - {id: p}
)", "duplicate plan id \"p\" (first at t.yaml:2)", 3, "plans[1].id"},
    {R"(plans:
  - id: p
    roles: {commander: "person:alice"}
    steps:
      - {id: a, title: A}
      - {id: a, title: B}
)", "duplicate step id \"a\"", 6, "plans[0].steps[1].id"},
    // ---- plans ----
    {R"(plans:
  - id: p
    roles: {commander: "person:alice"}
    steps:
      - {id: a, title: A, owner: ops}
)", "unknown role \"ops\"; the plan's roles are: commander", 5, "plans[0].steps[0].owner"},
    {R"(plans:
  - id: p
    roles: {commander: "channel:hook"}
)", "a role is filled by a person:ID or a schedule:ID", 3, "plans[0].roles.commander"},
    {R"(plans:
  - id: p
    clocks:
      - {name: c, every: 1h, within: 72h}
)", "expected exactly one of every (repeating) or within", 4, "plans[0].clocks[0].every"},
    // an action without a URL (issue 5)
    {R"(plans:
  - id: p
    clocks:
      - {name: c, within: 72h, from: Breach-Confirmed}
)", "bad event kind \"Breach-Confirmed\": expected a timeline event kind", 4, "plans[0].clocks[0].from"},
    {R"(plans:
  - id: p
    steps: [{id: notify, title: N}]
    clocks:
      - {name: c, within: 72h, until: "task_done:notfy"}
)", "unknown step \"notfy\" in \"task_done:notfy\"", 5, "plans[0].clocks[0].until"},
    {R"(plans:
  - id: p
    review_every: 90d
    reviewed: 2026-13-01
)", "bad date \"2026-13-01\": expected YYYY-MM-DD", 4, "plans[0].reviewed"},
    // drill cadence (issue 7)
    {R"(plans:
  - id: p
    drill:
      every: 30d
      scenaro: s.yaml
)", "unknown key \"scenaro\"; expected one of: every, scenario", 5, "plans[0].drill.scenaro"},
    {R"(plans:
  - id: p
    drill: {scenario: s.yaml}
)", "missing required field \"every\"", 3, "plans[0].drill.every"},
    {R"(plans:
  - id: p
    drill: {every: 0d, scenario: s.yaml}
)", "", 3, "plans[0].drill.every"},
    {R"(plans:
  - id: p
    drill:
      every: 30d
)", "missing required field \"scenario\"", 3, "plans[0].drill.scenario"},
    {R"(plans:
  - id: p
    drill: monthly
)", "expected {every: DURATION, scenario: FILE}", 3, "plans[0].drill"},
    {R"(plans:
  - id: p
    steps:
      - id: a
        title: A
        action: {type: webhook, approve: true}
)", "missing required field \"url\"", 6, "plans[0].steps[0].action.url"},
    {R"(plans:
  - id: p
    steps:
      - id: a
        title: A
        action: {type: command, approve: true}
)", "missing required field \"command\"", 6, "plans[0].steps[0].action.command"},
    {R"(plans:
  - id: p
    steps:
      - id: a
        title: A
        action: {type: ssh, url: "http://x/"}
)", "bad value \"ssh\": expected one of webhook, command, exec", 6, "plans[0].steps[0].action.type"},
    {R"(plans:
  - id: p
    steps:
      - id: a
        title: A
        action:
          type: exec
          command: [/bin/true]
          body: '{"x": 1}'
)", "\"body\" does not apply to a command action", 9, "plans[0].steps[0].action.body"},
    {R"(plans:
  - id: p
    steps:
      - id: a
        title: A
        action: {type: webhook, url: "ftp://x/{{ .Incident.ID }}"}
)", "bad URL \"ftp://x/{{ .Incident.ID }}\": expected http://", 6, "plans[0].steps[0].action.url"},
    {R"(plans:
  - id: p
    steps:
      - id: a
        title: A
        action: {type: webhook, url: "http://x/", timeout: 0s}
)", "expected a duration greater than 0", 6, "plans[0].steps[0].action.timeout"},
    {R"(plans:
  - include: nowhere/*.yaml
)", "matched no files", 2, "plans[0].include"},
    {R"(plans:
  - just-a-name
)", "expected a plan (a map) or {include: PATTERN}", 2, "plans[0]"},
    // ---- references between sections (checked after everything is read) ----
    {R"(escalation_policies:
  - id: ops
    levels:
      - {notify: ["person:dave"]}
people: [{id: alice}, {id: bob}]
)", "no person \"dave\" is defined (known: alice, bob)", 4, "escalation_policies[0].levels[0].notify[0]"},
    {R"(escalation_policies:
  - id: ops
    levels:
      - {notify: ["person:alice", "schedule:nightly"]}
people: [{id: alice}]
schedules: [{id: primary}]
)", "no schedule \"nightly\" is defined (known: primary)", 4, "escalation_policies[0].levels[0].notify[1]"},
    {R"(escalation_policies:
  - id: ops
    levels:
      - {notify: ["channel:pager"]}
channels: [{name: hook, type: webhook, url: "http://x/"}]
)", "no channel \"pager\" is defined (known: hook)", 4, "escalation_policies[0].levels[0].notify[0]"},
    {R"(plans:
  - {id: p, escalation: nope}
escalation_policies: [{id: ops, levels: [{notify: ["channel:hook"]}]}]
channels: [{name: hook, type: webhook, url: "http://x/"}]
)", "no escalation policy \"nope\" is defined (known: ops)", 2, "plans[0].escalation"},
    {R"(plans:
  - id: p
    roles:
      commander: "person:zed"
)", "no person \"zed\" is defined", 4, "plans[0].roles.commander"},
    {R"(plans:
  - id: p
    roles:
      commander: "schedule:zed"
)", "no schedule \"zed\" is defined", 4, "plans[0].roles.commander"},
    {R"(schedules:
  - id: other
    layers: [{rotation: daily, start: 2026-01-05, members: [alice, mallory]}]
people: [{id: alice}]
)", "no person \"mallory\" is defined", 3, "schedules[0].layers[0].members[1]"},
    {R"(schedules:
  - id: other
    overrides:
      - {person: mallory, from: "2026-12-24T00:00", to: "2026-12-26T00:00"}
)", "no person \"mallory\" is defined", 4, "schedules[0].overrides[0].person"},
    {R"(routes:
  receiver: hook
  routes:
    - {matchers: ['severity="info"'], receiver: chat}
channels: [{name: hook, type: webhook, url: "http://x/"}]
)", "no channel \"chat\" is defined (known: hook)", 4, "routes.routes[0].receiver"},
    // ---- limits ----
    {"limits: {max_body_byte: 1024}\n", "unknown key \"max_body_byte\"", 1, "limits.max_body_byte"},
    {R"(limits:
  max_labels_per_series: 0
)", "0 is out of range: expected 1 to 10000", 2, "limits.max_labels_per_series"},
    {R"(limits:
  max_body_bytes: 16MiB
)", "expected a whole number", 2, "limits.max_body_bytes"},
    {R"(limits:
  max_body_bytes: 100
)", "100 is out of range: expected 1024 to 1073741824", 2, "limits.max_body_bytes"},
    {R"(limits:
  read_timeout: 0s
)", "expected a duration greater than 0", 2, "limits.read_timeout"},
    {R"(limits:
  rate:
    requests_per_second: -1
)", "-1 is out of range: expected 0 (off) to 1000000", 3, "limits.rate.requests_per_second"},
    {R"(limits:
  rate: {requests_per_second: 10, brust: 20}
)", "unknown key \"brust\"; expected one of: requests_per_second, burst, max_clients", 2, "limits.rate.brust"},
    // ---- alerting, time intervals (Alertmanager 0.25 syntax) ----
    {"alerting: {resolve_timout: 5m}\n", "unknown key \"resolve_timout\"; expected one of: resolve_timeout", 1, "alerting.resolve_timout"},
    {R"(alerting:
  resolve_timeout: 0s
)", "expected a duration greater than 0", 2, "alerting.resolve_timeout"},
    {R"(time_intervals:
  - time_intervals: [{weekdays: [monday]}]
)", "missing required field \"name\"", 2, "time_intervals[0].name"},
    {R"(time_intervals:
  - name: office
    time_intervals:
      - {weekdays: [monday], time_zone: UTC}
)", "unknown key \"time_zone\"; expected one of: times, weekdays, days_of_month, months, years, location", 4, "time_intervals[0].time_intervals[0].time_zone"},
    {R"(time_intervals:
  - name: office
    time_intervals:
      - times:
          - {start_time: "9:00", end_time: "17:00"}
)", "bad time \"9:00\": expected HH:MM from 00:00 to 24:00", 5, "time_intervals[0].time_intervals[0].times[0].start_time"},
    {R"(time_intervals:
  - name: office
    time_intervals:
      - times:
          - start_time: "17:00"
            end_time: "09:00"
)", "end_time 09:00 must be later than start_time 17:00", 6, "time_intervals[0].time_intervals[0].times[0].end_time"},
    {R"(time_intervals:
  - name: office
    time_intervals:
      - times:
          - {start_time: "24:00", end_time: "24:00"}
)", "end_time 24:00 must be later than start_time 24:00", 5, "time_intervals[0].time_intervals[0].times[0].end_time"},
    {R"(time_intervals:
  - name: office
    time_intervals:
      - times:
          - {start_time: "09:00", end_time: "24:01"}
)", "bad time \"24:01\"", 5, "time_intervals[0].time_intervals[0].times[0].end_time"},
    {R"(time_intervals:
  - name: office
    time_intervals:
      - times:
          - start_time: "09:00"
)", "missing required field \"end_time\"", 5, "time_intervals[0].time_intervals[0].times[0].end_time"},
    {R"(time_intervals:
  - name: office
    time_intervals:
      - weekdays: ['monday', 'friday:monday']
)", "bad weekday range \"friday:monday\": the first day comes after the last (a week runs sunday to saturday)", 4, "time_intervals[0].time_intervals[0].weekdays[1]"},
    {R"(time_intervals:
  - name: office
    time_intervals:
      - weekdays: ['mon:fri']
)", "bad weekday \"mon:fri\": expected a day name (sunday to saturday), or a range like monday:friday", 4, "time_intervals[0].time_intervals[0].weekdays[0]"},
    {R"(time_intervals:
  - name: office
    time_intervals:
      - weekdays: 'monday:friday'
)", "expected a list like ['monday:friday'], got the quoted string \"monday:friday\"", 4, "time_intervals[0].time_intervals[0].weekdays"},
    {R"(time_intervals:
  - name: office
    time_intervals:
      - weekdays: ['monday:tuesday:friday']
)", "bad weekday \"monday:tuesday:friday\"", 4, "time_intervals[0].time_intervals[0].weekdays[0]"},
    {R"(time_intervals:
  - name: billing
    time_intervals:
      - days_of_month: ['0']
)", "bad day of month \"0\": expected 1 to 31 or -31 to -1 (-1 = the last day)", 4, "time_intervals[0].time_intervals[0].days_of_month[0]"},
    {R"(time_intervals:
  - name: billing
    time_intervals:
      - days_of_month: ['1:32']
)", "bad day of month \"1:32\"", 4, "time_intervals[0].time_intervals[0].days_of_month[0]"},
    {R"(time_intervals:
  - name: billing
    time_intervals:
      - days_of_month: ['-3:5']
)", "bad day-of-month range \"-3:5\": it starts from the end of the month (negative), so it must end there too", 4, "time_intervals[0].time_intervals[0].days_of_month[0]"},
    {R"(time_intervals:
  - name: billing
    time_intervals:
      - days_of_month: ['5:1']
)", "bad day-of-month range \"5:1\": the last day is always before the first", 4, "time_intervals[0].time_intervals[0].days_of_month[0]"},
    {R"(time_intervals:
  - name: billing
    time_intervals:
      - days_of_month: ['-1:-3']
)", "bad day-of-month range \"-1:-3\": the last day is always before the first", 4, "time_intervals[0].time_intervals[0].days_of_month[0]"},
    {R"(time_intervals:
  - name: q1
    time_intervals:
      - months: ['march:january']
)", "bad month range \"march:january\": the first month comes after the last", 4, "time_intervals[0].time_intervals[0].months[0]"},
    {R"(time_intervals:
  - name: q1
    time_intervals:
      - months: ['13']
)", "bad month \"13\": expected a month name (january to december) or 1 to 12", 4, "time_intervals[0].time_intervals[0].months[0]"},
    {R"(time_intervals:
  - name: q1
    time_intervals:
      - years: ['2027:2026']
)", "bad year range \"2027:2026\": the first year comes after the last", 4, "time_intervals[0].time_intervals[0].years[0]"},
    {R"(time_intervals:
  - name: q1
    time_intervals:
      - years: ['0']
)", "bad year \"0\": expected a year like 2026, or a range like 2026:2027", 4, "time_intervals[0].time_intervals[0].years[0]"},
    {R"(time_intervals:
  - name: office
    time_intervals:
      - location: Mars/Olympus_Mons
)", "unknown time zone \"Mars/Olympus_Mons\": expected UTC, Local or an IANA name like Europe/Berlin", 4, "time_intervals[0].time_intervals[0].location"},
    {R"(time_intervals:
  - {name: office}
mute_time_intervals:
  - {name: holidays}
  - {name: office}
)", "duplicate time interval name \"office\" (first on line 2)", 5, "mute_time_intervals[1].name"},
    {R"(time_intervals:
  - {name: office, time_intervals: [{weekdays: [monday]}], location: UTC}
)", "unknown key \"location\"; expected one of: name, time_intervals", 2, "time_intervals[0].location"},
    // ---- routes: match, match_re, time intervals ----
    {R"(channels: [{name: hook, type: webhook, url: "http://x/"}]
time_intervals: [{name: office}, {name: weekend}]
routes:
  receiver: hook
  routes:
    - receiver: hook
      mute_time_intervals: [office, holidays]
)", "no time interval \"holidays\" is defined (known: office, weekend)", 7, "routes.routes[0].mute_time_intervals[1]"},
    {R"(channels: [{name: hook, type: webhook, url: "http://x/"}]
routes:
  receiver: hook
  routes:
    - receiver: hook
      active_time_intervals: [office]
)", "no time interval \"office\" is defined (known: none)", 6, "routes.routes[0].active_time_intervals[0]"},
    {R"(time_intervals: [{name: office}]
routes:
  receiver: hook
  mute_time_intervals: [office]
)", "the root route cannot have mute_time_intervals", 4, "routes.mute_time_intervals"},
    {R"(time_intervals: [{name: office}]
routes:
  receiver: hook
  active_time_intervals: [office]
)", "the root route cannot have active_time_intervals", 4, "routes.active_time_intervals"},
    {R"(routes:
  receiver: hook
  match: {severity: critical}
)", "the root route matches every alert; it cannot have match", 3, "routes.match"},
    {R"(routes:
  receiver: hook
  match_re: {severity: "critical|major"}
)", "the root route matches every alert; it cannot have match_re", 3, "routes.match_re"},
    {R"(routes:
  receiver: hook
  routes:
    - match_re:
        service: "api|web"
        severity: "crit(ical"
)", "bad regex \"crit(ical\"", 6, "routes.routes[0].match_re.severity"},
    {R"(routes:
  receiver: hook
  routes:
    - match: {incident-type: crash}
)", "bad label name \"incident-type\"", 4, "routes.routes[0].match.incident-type"},
    {R"(routes:
  receiver: hook
  routes:
    - match: {severity: [critical]}
)", "expected a string, got a list", 4, "routes.routes[0].match.severity"},
    {R"(routes:
  receiver: hook
  routes:
    - mute_time_intervals: office
)", "expected a list of time interval names, got \"office\"", 4, "routes.routes[0].mute_time_intervals"},
    {R"(routes:
  receiver: hook
  routes:
    - {receiver: hook, mute_intervals: [office]}
)", "unknown key \"mute_intervals\"; expected one of: receiver, group_by", 4, "routes.routes[0].mute_intervals"},
    // ---- channels: send_resolved, templates ----
    {R"(channels:
  - {name: chat, type: slack, url: "http://x/", send_resolved: sometimes}
)", "expected true or false, got \"sometimes\"", 2, "channels[0].send_resolved"},
    {R"(channels:
  - name: mail
    type: email
    smtp: {host: localhost, from: a@example.com}
    title: [a, b]
)", "expected a string, got a list", 5, "channels[0].title"},
    {R"(channels:
  - {name: run, type: exec, command: [/bin/true], subject: x}
)", "unknown key \"subject\"; expected one of: name, type, url, format, smtp, to, command, timeout, send_resolved, title, body", 2, "channels[0].subject"},
    // ---- risks ----
    {R"(people: [{id: alice}]
risks:
  - {id: r1, title: Outage, likelihood: 0.2, impact: 3, owner: alice, review: 2027-01-01, score: 9}
)", "unknown key \"score\"; expected one of: id, title, likelihood, likelihood_from, impact, owner, plan", 3, "risks[0].score"},
    {R"(people: [{id: alice}]
risks:
  - {id: r1, title: Outage, impact: 3, owner: alice, review: 2027-01-01}
)", "missing required field \"likelihood\"", 3, "risks[0].likelihood"},
    {R"(people: [{id: alice}]
risks:
  - id: r1
    title: Outage
    likelihood: 0.2
    likelihood_from: {model: m.json, class: crash}
    impact: 3
    owner: alice
    review: 2027-01-01
)", "expected one of likelihood or likelihood_from, not both", 6, "risks[0].likelihood_from"},
    {R"(people: [{id: alice}]
risks:
  - id: r1
    title: Outage
    likelihood: 1.5
    impact: 3
    owner: alice
    review: 2027-01-01
)", "1.5 is out of range: expected a probability from 0 to 1", 5, "risks[0].likelihood"},
    {R"(people: [{id: alice}]
risks:
  - {id: r1, title: Outage, likelihood: 20%, impact: 3, owner: alice, review: 2027-01-01}
)", "expected a probability from 0 to 1, got \"20%\"", 3, "risks[0].likelihood"},
    {R"(people: [{id: alice}]
risks:
  - id: r1
    title: Outage
    likelihood: 0.2
    impact: 6
    owner: alice
    review: 2027-01-01
)", "6 is out of range: expected 1 to 5", 6, "risks[0].impact"},
    {R"(people: [{id: alice}]
risks:
  - id: r1
    title: Outage
    likelihood: 0.2
    impact: 3
    owner: dave
    review: 2027-01-01
)", "no person \"dave\" is defined (known: alice)", 7, "risks[0].owner"},
    {R"(people: [{id: alice}]
risks:
  - id: r1
    title: Outage
    likelihood: 0.2
    impact: 3
    owner: alice
    plan: crash
    review: 2027-01-01
)", "no plan \"crash\" is defined (known: none)", 8, "risks[0].plan"},
    {R"(people: [{id: alice}]
risks:
  - id: r1
    title: Outage
    likelihood: 0.2
    impact: 3
    owner: alice
    review: 01/02/2027
)", "bad date \"01/02/2027\": expected YYYY-MM-DD", 8, "risks[0].review"},
    {R"(people: [{id: alice}]
risks:
  - {id: r1, title: Outage, likelihood: 0.2, impact: 3, owner: alice}
)", "missing required field \"review\"", 3, "risks[0].review"},
    {R"(people: [{id: alice}]
risks:
  - id: r1
    title: Outage
    likelihood_from: {model: models/absent.json, class: crash}
    impact: 3
    owner: alice
    review: 2027-01-01
)", "absent.json does not exist", 5, "risks[0].likelihood_from.model"},
    {R"(people: [{id: alice}]
risks:
  - id: r1
    title: Outage
    likelihood_from: {model: t.yaml, klass: crash}
    impact: 3
    owner: alice
    review: 2027-01-01
)", "unknown key \"klass\"; expected one of: model, class", 5, "risks[0].likelihood_from.klass"},
    {R"(people: [{id: alice}]
risks:
  - {id: r1, title: A, likelihood: 0.2, impact: 3, owner: alice, review: 2027-01-01}
  - {id: r1, title: B, likelihood: 0.2, impact: 3, owner: alice, review: 2027-01-01}
)", "duplicate risk id \"r1\" (first on line 3)", 4, "risks[1].id"},
};
// clang-format on

TEST(LoaderTable, EachBrokenConfigNamesLineFieldAndProblem) {
  ASSERT_GE(std::size(kBroken), 30u);
  TempDir dir;
  for (const Broken& b : kBroken) {
    const std::string yaml(b.yaml);
    SCOPED_TRACE(yaml);
    auto cfg = load_config_string(yaml, "t.yaml", dir.path());
    ASSERT_FALSE(cfg.has_value());
    const core::Error& err = cfg.error();
    EXPECT_EQ(err.code(), core::ErrorCode::kInvalidArgument);
    EXPECT_NE(err.message().find(b.message), std::string::npos) << "message: " << err.message();
    EXPECT_EQ(err.position().file, "t.yaml");
    EXPECT_EQ(err.position().line, b.line) << err.to_string();
    EXPECT_EQ(err.field(), b.field) << err.to_string();
  }
}

TEST(Loader, ErrorReadsFileLineFieldMessage) {
  auto cfg = load_config_string(R"(rules:
  - name: A
    select: up
    detector: {kind: threshold, above: 1}
    for: 5x
)",
                                "tocsin.yaml", {});
  ASSERT_FALSE(cfg.has_value());
  EXPECT_TRUE(cfg.error().to_string().starts_with("tocsin.yaml:5: rules[0].for: bad duration \"5x\": "))
      << cfg.error().to_string();
}

TEST(Loader, DuplicateKeyInNestedListReportsTheSecondKey) {
  auto cfg = load_config_string(R"(people:
  - id: alice
  - id: bob
    name: Bob
    timezone: UTC
    name: Robert
)",
                                "t.yaml", {});
  ASSERT_FALSE(cfg.has_value());
  EXPECT_EQ(cfg.error().position().line, 6);
  EXPECT_EQ(cfg.error().field(), "people[1].name");
  EXPECT_NE(cfg.error().message().find("duplicate key \"name\" (first on line 4)"), std::string::npos);
}

TEST(Loader, FirstErrorInDocumentOrderWins) {
  // Both sections are broken; the one written first is reported.
  auto cfg = load_config_string(R"(rules:
  - {name: A, select: up, detector: {kind: threshold}, for: 1x}
server:
  store: mysql://db
)",
                                "t.yaml", {});
  ASSERT_FALSE(cfg.has_value());
  EXPECT_EQ(cfg.error().field(), "rules[0].for");
}

TEST(Loader, StorePoolSizeDefaultsToFourAndIsRead) {
  auto defaults = load_config_string("server:\n  store: postgres://tocsin@db/tocsin\n", "t.yaml", {});
  ASSERT_TRUE(defaults.has_value()) << defaults.error().to_string();
  EXPECT_EQ(defaults->server.store_pool_size, 4);
  auto cfg = load_config_string("server:\n  store: postgres://tocsin@db/tocsin\n  store_pool: {size: 12}\n", "t.yaml",
                                {});
  ASSERT_TRUE(cfg.has_value()) << cfg.error().to_string();
  EXPECT_EQ(cfg->server.store_pool_size, 12);
}

TEST(Loader, EmptyDocumentIsAnEmptyConfig) {
  auto cfg = load_config_string("# nothing yet\n", "t.yaml", "/srv/tocsin");
  ASSERT_TRUE(cfg.has_value()) << cfg.error().to_string();
  EXPECT_TRUE(cfg->rules.empty());
  EXPECT_FALSE(cfg->routes.has_value());
  EXPECT_EQ(cfg->server.data_dir, "/srv/tocsin/tocsin-data");
}

TEST(Loader, ServerLeaseAndReplicaSettings) {
  auto defaults = load_config_string("# nothing yet\n", "t.yaml", "/srv/tocsin");
  ASSERT_TRUE(defaults.has_value());
  EXPECT_EQ(defaults->server.replica_id, "");
  EXPECT_EQ(defaults->server.lease.ttl, std::chrono::seconds(15));
  EXPECT_EQ(defaults->server.lease.renew_every, std::chrono::seconds(5));
  auto cfg = load_config_string(R"(server:
  store: postgres://db/tocsin
  replica_id: tocsin-a
  advertise_url: http://10.0.0.5:8470
  lease: {ttl: 30s}
)",
                                "t.yaml", "/srv/tocsin");
  ASSERT_TRUE(cfg.has_value()) << cfg.error().to_string();
  EXPECT_EQ(cfg->server.replica_id, "tocsin-a");
  EXPECT_EQ(cfg->server.advertise_url, "http://10.0.0.5:8470");
  EXPECT_EQ(cfg->server.lease.ttl, std::chrono::seconds(30));
  EXPECT_EQ(cfg->server.lease.renew_every, std::chrono::seconds(10)) << "ttl / 3 when only ttl is given";
  cfg = load_config_string("server:\n  lease: {ttl: 2s, renew_every: 500ms}\n", "t.yaml", "/srv/tocsin");
  ASSERT_TRUE(cfg.has_value()) << cfg.error().to_string();
  EXPECT_EQ(cfg->server.lease.renew_every, std::chrono::milliseconds(500));
}

// yaml-cpp 0.7's LoadAll allocated empty documents forever on a stray top-level "," (found by
// fuzz/config_fuzz.cc; the input is in fuzz/corpus/config/). Now it is an error, and a second
// document still names its line.
TEST(Loader, StrayFlowEntryIsAnErrorNotAnEndlessLoad) {
  for (std::string_view yaml : {",", ",,", "rules: []\n,\n"}) {
    auto cfg = load_config_string(yaml, "t.yaml", "/srv/tocsin");
    ASSERT_FALSE(cfg.has_value()) << yaml;
  }
  EXPECT_EQ(load_config_string(",", "t.yaml", "/srv/tocsin").error().to_string(),
            "t.yaml:1: expected one YAML document, found more");
  auto two = load_config_string("rules: []\n---\npeople: []\n", "t.yaml", "/srv/tocsin");
  ASSERT_FALSE(two.has_value());
  EXPECT_EQ(two.error().to_string(), "t.yaml:2: expected one YAML document, found more");
}

TEST(Loader, MissingFileIsNotFound) {
  TempDir dir;
  auto cfg = load_config(dir.path() / "absent.yaml");
  ASSERT_FALSE(cfg.has_value());
  EXPECT_EQ(cfg.error().code(), core::ErrorCode::kNotFound);
}

constexpr std::string_view kSpecMain = R"(server:
  listen: 127.0.0.1:8470
  data_dir: ./tocsin-data              # the embedded SQLite store lives here
  # store: postgres://tocsin@127.0.0.1/tocsin   # shared store for several replicas
  external_url: http://127.0.0.1:8470  # used in links inside notifications
auth:
  tokens:
    - {name: ops-cli, role: responder, token_env: TOCSIN_OPS_TOKEN}   # viewer|responder|admin
people:
  - id: alice
    name: Alice Zhang
    timezone: Asia/Shanghai
    contact: {email: alice@example.com, webhook: http://127.0.0.1:9000/alice}
  - {id: bob, name: Bob}
  - {id: carol, name: Carol}
channels:
  - {name: ops-hook, type: webhook, url: http://127.0.0.1:9000/hook, format: alertmanager}
  - {name: mail, type: email, smtp: {host: 127.0.0.1, port: 2525, from: tocsin@example.com}}
  - {name: chat, type: slack, url: http://127.0.0.1:9000/slack}
schedules:
  - id: ops-primary
    timezone: Asia/Shanghai
    layers:
      - {rotation: weekly, handoff: "Mon 09:00", start: 2026-01-05, members: [alice, bob]}
    overrides:
      - {person: carol, from: "2026-12-24T00:00", to: "2026-12-26T00:00"}
escalation_policies:
  - id: ops
    repeat: 2
    repeat_every: 30m
    levels:
      - {after: 0m,  notify: ["schedule:ops-primary"]}
      - {after: 10m, notify: ["person:carol", "channel:ops-hook"]}
scrape:
  - {job: api, interval: 15s, targets: ["127.0.0.1:9100"]}
probes:
  - {name: homepage, http: "http://127.0.0.1:8080/healthz", interval: 30s, timeout: 5s}
rules:
  - name: HighLoad
    select: 'system_load{service="api"}'
    detector: {kind: threshold, above: 0.9}
    for: 1m
    severity: major
    labels: {incident_type: system_crash}
    annotations: {summary: "load {{ $value }} on {{ $labels.instance }}"}
  - name: LatencyBaseline
    select: http_latency_ms
    detector: {kind: sigma, n: 3, window: 1h}
    labels: {incident_type: system_crash}
  - name: FeedbackSurge
    select: user_feedback_reports
    detector: {kind: auto}
routes:
  receiver: ops-hook
  group_by: [alertname, service]
  group_wait: 0s
  group_interval: 1m
  repeat_interval: 4h
  routes:
    - {matchers: ['severity="info"'], receiver: chat}
    - matchers: ['team="db"']
      group_by: ['...']
      routes:
        - {matchers: ['severity="critical"'], receiver: mail, continue: true}
inhibit_rules:
  - {source_matchers: ['severity="critical"'], target_matchers: ['severity="warning"'], equal: [service]}
plans:
  - include: plans/*.yaml
)";

// The SPEC's plan file; the triage step is written in block style because its title contains a
// comma, which ends a value inside a YAML flow map.
constexpr std::string_view kSpecPlan = R"(id: system_crash
title: System crash
match: ['incident_type="system_crash"']
severity: critical
escalation: ops
roles:
  commander: "schedule:ops-primary"
  operations: "person:bob"
steps:
  - {id: activate, title: Activate the plan and page responders, owner: commander, due: 5m}
  - id: triage
    title: Check servers and network, find the failing part
    owner: operations
    due: 15m
  - id: failover
    title: Switch traffic to the backup server
    owner: operations
    due: 20m
    action: {type: webhook, url: "http://127.0.0.1:9000/failover", approve: true, timeout: 30s}
  - {id: recover, title: Restore the primary and verify service, owner: operations, due: 2h}
  - {id: review, title: Hold the postmortem, owner: commander, due: 72h}
resources:
  - {name: backup-server, kind: host, ref: "10.0.0.12"}
clocks:
  - {name: status-update, every: 30m, owner: commander}
review_every: 90d
)";

TEST(Loader, SpecExampleLoadsWithEveryValue) {
  TempDir dir;
  const auto main = dir.write("tocsin.yaml", kSpecMain);
  dir.write("plans/system_crash.yaml", kSpecPlan);
  auto loaded = load_config(main);
  ASSERT_TRUE(loaded.has_value()) << loaded.error().to_string();
  const Config& cfg = *loaded;

  EXPECT_EQ(cfg.path, main.string());
  EXPECT_EQ(cfg.server.listen, "127.0.0.1:8470");
  EXPECT_EQ(cfg.server.data_dir, (dir.path() / "tocsin-data").string());
  EXPECT_EQ(cfg.server.external_url, "http://127.0.0.1:8470");
  ASSERT_EQ(cfg.auth.tokens.size(), 1u);
  EXPECT_EQ(cfg.auth.tokens[0].role, Role::kResponder);
  EXPECT_EQ(cfg.auth.tokens[0].token_env, "TOCSIN_OPS_TOKEN");

  ASSERT_EQ(cfg.people.size(), 3u);
  EXPECT_EQ(cfg.person("alice")->timezone, "Asia/Shanghai");
  EXPECT_EQ(cfg.person("alice")->contact.webhook, "http://127.0.0.1:9000/alice");
  EXPECT_EQ(cfg.person("alice")->pos.line, 10);
  EXPECT_EQ(cfg.person("bob")->timezone, "UTC");

  EXPECT_EQ(cfg.channel("ops-hook")->format, WebhookFormat::kAlertmanager);
  EXPECT_EQ(cfg.channel("mail")->type, ChannelType::kEmail);
  EXPECT_EQ(cfg.channel("mail")->smtp.port, 2525);
  EXPECT_EQ(cfg.channel("mail")->smtp.from, "tocsin@example.com");
  EXPECT_EQ(cfg.channel("chat")->type, ChannelType::kSlack);

  const Schedule* s = cfg.schedule("ops-primary");
  ASSERT_NE(s, nullptr);
  ASSERT_EQ(s->layers.size(), 1u);
  const Layer& layer = s->layers[0];
  EXPECT_EQ(layer.rotation, Rotation::kWeekly);
  EXPECT_EQ(layer.handoff_day, std::chrono::Monday);
  EXPECT_EQ(layer.handoff_time, hours(9));
  EXPECT_EQ(layer.start, std::chrono::local_days(std::chrono::year(2026) / 1 / 5));
  EXPECT_EQ(layer.members, (std::vector<std::string>{"alice", "bob"}));
  ASSERT_EQ(s->overrides.size(), 1u);
  EXPECT_EQ(s->overrides[0].person, "carol");
  EXPECT_EQ(s->overrides[0].from, LocalTime(std::chrono::local_days(std::chrono::year(2026) / 12 / 24)));
  EXPECT_EQ(s->overrides[0].to - s->overrides[0].from, hours(48));

  const EscalationPolicy* ops = cfg.escalation_policy("ops");
  ASSERT_NE(ops, nullptr);
  EXPECT_EQ(ops->repeat, 2);
  EXPECT_EQ(ops->repeat_every, minutes(30));
  ASSERT_EQ(ops->levels.size(), 2u);
  EXPECT_EQ(ops->levels[0].after, minutes(0));
  EXPECT_EQ(ops->levels[1].after, minutes(10));
  EXPECT_EQ(ops->levels[0].notify, (std::vector<Target>{{Target::Kind::kSchedule, "ops-primary"}}));
  EXPECT_EQ(ops->levels[1].notify,
            (std::vector<Target>{{Target::Kind::kPerson, "carol"}, {Target::Kind::kChannel, "ops-hook"}}));

  ASSERT_EQ(cfg.scrape.size(), 1u);
  EXPECT_EQ(cfg.scrape[0].interval, seconds(15));
  EXPECT_EQ(cfg.scrape[0].targets, (std::vector<std::string>{"127.0.0.1:9100"}));
  ASSERT_EQ(cfg.probes.size(), 1u);
  EXPECT_EQ(cfg.probes[0].http, "http://127.0.0.1:8080/healthz");
  EXPECT_EQ(cfg.probes[0].timeout, seconds(5));

  ASSERT_EQ(cfg.rules.size(), 3u);
  const Rule& high = cfg.rules[0];
  EXPECT_EQ(high.name, "HighLoad");
  EXPECT_EQ(high.select, "system_load{service=\"api\"}");
  ASSERT_EQ(high.selector.size(), 2u);
  EXPECT_EQ(high.selector[0].name(), "__name__");
  EXPECT_EQ(high.detector.kind, "threshold");
  ASSERT_TRUE(high.detector.params.at("above").number.has_value());
  EXPECT_DOUBLE_EQ(*high.detector.params.at("above").number, 0.9);
  EXPECT_EQ(high.for_duration, minutes(1));
  EXPECT_EQ(high.severity, "major");
  EXPECT_EQ(high.labels.at("incident_type"), "system_crash");
  EXPECT_EQ(high.annotations.at("summary"), "load {{ $value }} on {{ $labels.instance }}");
  const DetectorConfig& sigma = cfg.rules[1].detector;
  EXPECT_EQ(sigma.params.at("n").number, 3.0);
  EXPECT_EQ(sigma.params.at("window").text, "1h");
  EXPECT_FALSE(sigma.params.at("window").number.has_value());
  EXPECT_EQ(sigma.params.at("window").pos.line, 48);
  EXPECT_EQ(cfg.rules[1].severity, "warning");
  EXPECT_EQ(cfg.rules[2].detector.kind, "auto");

  ASSERT_TRUE(cfg.routes.has_value());
  const Route& root = *cfg.routes;
  EXPECT_EQ(root.receiver, "ops-hook");
  EXPECT_EQ(root.group_wait, seconds(0));
  ASSERT_EQ(root.routes.size(), 2u);
  const Route& info = root.routes[0];
  EXPECT_EQ(info.receiver, "chat");
  EXPECT_EQ(info.group_by, (std::vector<std::string>{"alertname", "service"}));
  EXPECT_EQ(info.group_wait, seconds(0));
  EXPECT_EQ(info.group_interval, minutes(1));
  EXPECT_EQ(info.repeat_interval, hours(4));
  ASSERT_EQ(info.matchers.size(), 1u);
  EXPECT_EQ(info.matchers[0].to_string(), "severity=\"info\"");
  const Route& db = root.routes[1];
  EXPECT_EQ(db.receiver, "ops-hook");  // inherited
  EXPECT_TRUE(db.group_by_all);
  EXPECT_TRUE(db.group_by.empty());
  ASSERT_EQ(db.routes.size(), 1u);
  EXPECT_TRUE(db.routes[0].group_by_all);  // inherited two levels down
  EXPECT_EQ(db.routes[0].receiver, "mail");
  EXPECT_TRUE(db.routes[0].continue_matching);
  EXPECT_EQ(db.routes[0].repeat_interval, hours(4));

  ASSERT_EQ(cfg.inhibit_rules.size(), 1u);
  EXPECT_EQ(cfg.inhibit_rules[0].equal, (std::vector<std::string>{"service"}));

  ASSERT_EQ(cfg.plans.size(), 1u);
  const Plan& plan = cfg.plans[0];
  EXPECT_EQ(plan.id, "system_crash");
  EXPECT_EQ(plan.file, (dir.path() / "plans/system_crash.yaml").string());
  EXPECT_EQ(plan.pos.file, plan.file);
  EXPECT_EQ(plan.severity, "critical");
  EXPECT_EQ(plan.escalation, "ops");
  ASSERT_EQ(plan.match.size(), 1u);
  ASSERT_EQ(plan.roles.size(), 2u);
  EXPECT_EQ(plan.roles[0].first, "commander");
  EXPECT_EQ(plan.roles[0].second, (Target{Target::Kind::kSchedule, "ops-primary"}));
  EXPECT_EQ(plan.roles[1].second.to_string(), "person:bob");
  ASSERT_EQ(plan.steps.size(), 5u);
  EXPECT_EQ(plan.steps[1].title, "Check servers and network, find the failing part");
  EXPECT_EQ(plan.steps[1].due, minutes(15));
  ASSERT_TRUE(plan.steps[2].action.has_value());
  EXPECT_EQ(plan.steps[2].action->type, StepAction::Type::kWebhook);
  EXPECT_TRUE(plan.steps[2].action->approve);
  EXPECT_EQ(plan.steps[2].action->timeout, seconds(30));
  EXPECT_FALSE(plan.steps[0].action.has_value());
  EXPECT_EQ(plan.steps[4].due, hours(72));
  ASSERT_EQ(plan.resources.size(), 1u);
  EXPECT_EQ(plan.resources[0].ref, "10.0.0.12");
  ASSERT_EQ(plan.clocks.size(), 1u);
  EXPECT_EQ(plan.clocks[0].every, minutes(30));
  EXPECT_EQ(plan.clocks[0].from, "opened");
  EXPECT_EQ(plan.review_every, hours(90 * 24));
  EXPECT_EQ(cfg.plan("system_crash"), &plan);
  EXPECT_EQ(cfg.plan("nope"), nullptr);
}

TEST(Loader, IncludedPlansLoadInSortedOrderAlongsideInlinePlans) {
  TempDir dir;
  dir.write("plans/b.yaml", "id: beta\n");
  dir.write("plans/a.yaml", "id: alpha\ntitle: Alpha\n");
  dir.write("plans/.hidden.yaml", "id: hidden\n");
  dir.write("plans/notes.txt", "not yaml: [\n");
  const auto main = dir.write("tocsin.yaml", "plans:\n  - {id: first}\n  - include: plans/*.yaml\n  - {id: last}\n");
  auto cfg = load_config(main);
  ASSERT_TRUE(cfg.has_value()) << cfg.error().to_string();
  ASSERT_EQ(cfg->plans.size(), 4u);
  EXPECT_EQ(cfg->plans[0].id, "first");
  EXPECT_EQ(cfg->plans[0].file, main.string());
  EXPECT_EQ(cfg->plans[1].id, "alpha");
  EXPECT_EQ(cfg->plans[1].title, "Alpha");
  EXPECT_EQ(cfg->plans[2].id, "beta");
  EXPECT_EQ(cfg->plans[2].title, "beta");
  EXPECT_EQ(cfg->plans[3].id, "last");
}

TEST(Loader, ErrorInIncludedPlanNamesThatFile) {
  TempDir dir;
  const auto plan = dir.write("plans/crash.yaml", "id: crash\nsteps:\n  - {id: a, title: A, due: soon}\n");
  auto cfg = load_config_string("plans:\n  - include: plans/*.yaml\n", "main.yaml", dir.path());
  ASSERT_FALSE(cfg.has_value());
  EXPECT_EQ(cfg.error().position().file, plan.string());
  EXPECT_EQ(cfg.error().position().line, 3);
  EXPECT_EQ(cfg.error().field(), "steps[0].due");
}

TEST(Loader, DanglingReferenceInIncludedPlanNamesThatFile) {
  TempDir dir;
  const auto plan = dir.write("plans/crash.yaml", "id: crash\n\nescalation: nope\n");
  auto cfg = load_config_string("plans:\n  - include: plans/crash.yaml\n", "main.yaml", dir.path());
  ASSERT_FALSE(cfg.has_value());
  EXPECT_EQ(cfg.error().to_string(),
            plan.string() + ":3: escalation: no escalation policy \"nope\" is defined (known: none)");
}

TEST(Loader, DuplicatePlanIdAcrossFiles) {
  TempDir dir;
  dir.write("plans/a.yaml", "id: same\n");
  dir.write("plans/b.yaml", "id: same\n");
  auto cfg = load_config_string("plans:\n  - include: plans/*.yaml\n", "main.yaml", dir.path());
  ASSERT_FALSE(cfg.has_value());
  EXPECT_NE(cfg.error().message().find("duplicate plan id \"same\""), std::string::npos) << cfg.error().to_string();
  EXPECT_EQ(cfg.error().position().file, (dir.path() / "plans/b.yaml").string());
}

TEST(Loader, RouteChildOverridesWhatItSets) {
  auto cfg = load_config_string(R"(channels:
  - {name: a, type: webhook, url: "http://a/"}
  - {name: b, type: webhook, url: "http://b/"}
routes:
  receiver: a
  group_wait: 10s
  routes:
    - {receiver: b, group_wait: 1s, group_by: [x], matchers: ['x=~"1|2"']}
)",
                                "t.yaml", {});
  ASSERT_TRUE(cfg.has_value()) << cfg.error().to_string();
  const Route& child = cfg->routes->routes[0];
  EXPECT_EQ(cfg->routes->group_interval, minutes(5));  // Alertmanager's default
  EXPECT_EQ(child.group_wait, seconds(1));
  EXPECT_EQ(child.group_by, (std::vector<std::string>{"x"}));
  EXPECT_FALSE(child.continue_matching);
}

TEST(Loader, ScheduleLayersParseHandoffForEachRotation) {
  auto cfg = load_config_string(R"(people: [{id: a}, {id: b}]
schedules:
  - id: s
    timezone: Europe/Berlin
    layers:
      - {rotation: daily, handoff: "18:30", start: 2026-02-28, members: [a]}
      - {rotation: custom, handoff: "06:00", shift_length: 3d, start: 2026-01-01, members: [a, b]}
      - {rotation: weekly, handoff: "fri 17:00", start: 2026-01-02, members: [b]}
)",
                                "t.yaml", {});
  ASSERT_TRUE(cfg.has_value()) << cfg.error().to_string();
  const auto& layers = cfg->schedules[0].layers;
  ASSERT_EQ(layers.size(), 3u);
  EXPECT_EQ(layers[0].rotation, Rotation::kDaily);
  EXPECT_EQ(layers[0].handoff_time, hours(18) + minutes(30));
  EXPECT_EQ(layers[1].rotation, Rotation::kCustom);
  EXPECT_EQ(layers[1].shift_length, hours(72));
  EXPECT_EQ(layers[1].handoff_time, hours(6));
  EXPECT_EQ(layers[2].handoff_day, std::chrono::Friday);
  EXPECT_EQ(layers[2].handoff_time, hours(17));
  EXPECT_EQ(layers[2].pos.line, 8);
}

TEST(Loader, AuthTokenDigestsIntakeAndMetrics) {
  auto cfg = load_config_string(R"(auth:
  metrics_public: true
  tokens:
    - {name: a, role: viewer, token_sha256: BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD}
  intake: {secret_file: secrets/intake}
)",
                                "t.yaml", "/etc/tocsin");
  ASSERT_TRUE(cfg.has_value()) << cfg.error().to_string();
  EXPECT_EQ(cfg->auth.tokens[0].token_sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_TRUE(cfg->auth.metrics_public);
  EXPECT_EQ(cfg->auth.intake.secret_file, "/etc/tocsin/secrets/intake");
  EXPECT_EQ(cfg->auth.intake.pos.line, 5);
}

TEST(Loader, CommandsAndTokenFiles) {
  auto cfg = load_config_string(R"(auth:
  tokens:
    - {name: a, role: admin, token_file: secrets/admin}
channels:
  - {name: argv, type: exec, command: [/bin/echo, hi]}
  - {name: shell, type: exec, command: "echo hi | logger"}
  - {name: signed, type: webhook, url: "http://x/", secret_file: secrets/hook}
  - {name: signed-env, type: webhook, url: "http://x/", secret_env: HOOK_SECRET}
plans:
  - id: p
    steps:
      - {id: s, title: S, action: {type: command, command: [/bin/true]}}
)",
                                "t.yaml", "/etc/tocsin");
  ASSERT_TRUE(cfg.has_value()) << cfg.error().to_string();
  EXPECT_EQ(cfg->auth.tokens[0].token_file, "/etc/tocsin/secrets/admin");
  EXPECT_TRUE(cfg->auth.enabled());
  EXPECT_FALSE(cfg->auth.metrics_public);
  EXPECT_EQ(cfg->channels[0].command, (std::vector<std::string>{"/bin/echo", "hi"}));
  EXPECT_EQ(cfg->channels[1].command, (std::vector<std::string>{"/bin/sh", "-c", "echo hi | logger"}));
  EXPECT_EQ(cfg->channels[2].secret_file, "/etc/tocsin/secrets/hook");
  EXPECT_EQ(cfg->channels[2].secret_env, "");
  EXPECT_EQ(cfg->channels[3].secret_env, "HOOK_SECRET");
  EXPECT_EQ(cfg->plans[0].steps[0].action->type, StepAction::Type::kCommand);
}

TEST(Loader, PlanDrillCadenceResolvesTheScenarioAgainstTheConfigDirectory) {
  auto cfg = load_config_string(R"(plans:
  - id: relative
    drill: {every: 30d, scenario: scenarios/crash.yaml}
  - id: absolute
    drill: {every: 12h, scenario: /srv/drills/breach.yaml}
  - id: none
)",
                                "t.yaml", "/etc/tocsin");
  ASSERT_TRUE(cfg.has_value()) << cfg.error().to_string();
  ASSERT_TRUE(cfg->plans[0].drill.has_value());
  EXPECT_EQ(cfg->plans[0].drill->every, hours(30 * 24));
  EXPECT_EQ(cfg->plans[0].drill->scenario, "/etc/tocsin/scenarios/crash.yaml");
  EXPECT_EQ(cfg->plans[0].drill->pos.line, 3);
  EXPECT_EQ(cfg->plans[1].drill->scenario, "/srv/drills/breach.yaml");
  EXPECT_FALSE(cfg->plans[2].drill.has_value());

  // The calendar: never drilled is due from the start; otherwise last run + every.
  EXPECT_EQ(drill_due(cfg->plans[0], std::nullopt), core::Timestamp{});
  const core::Timestamp last = core::from_unix_ms(1767571200000);
  EXPECT_EQ(drill_due(cfg->plans[1], last), last + hours(12));
  EXPECT_FALSE(drill_due(cfg->plans[2], last).has_value());
}

TEST(Loader, StepActionsKeepTheirTemplatesAsWritten) {
  auto cfg = load_config_string(R"(plans:
  - id: p
    steps:
      - id: failover
        title: Fail over
        action:
          type: webhook
          url: "http://lb.example/failover/{{ .Incident.ID }}"
          body: '{"service": "{{ .Labels.service }}", "step": "{{ .Step }}"}'
          approve: true
          timeout: 5s
      - {id: restart, title: Restart, action: {type: exec, command: [systemctl, restart, "{{ .Labels.service }}"]}}
      - {id: plain, title: Plain, action: {type: webhook, url: "https://hooks.example/x"}}
)",
                                "t.yaml", {});
  ASSERT_TRUE(cfg.has_value()) << cfg.error().to_string();
  const auto& steps = cfg->plans[0].steps;
  ASSERT_TRUE(steps[0].action.has_value());
  EXPECT_EQ(steps[0].action->url, "http://lb.example/failover/{{ .Incident.ID }}");
  EXPECT_EQ(steps[0].action->body, R"({"service": "{{ .Labels.service }}", "step": "{{ .Step }}"})");
  EXPECT_TRUE(steps[0].action->approve);
  EXPECT_EQ(steps[0].action->timeout, seconds(5));
  EXPECT_EQ(steps[0].action->pos.line, 6);  // the `action:` key
  ASSERT_TRUE(steps[1].action.has_value());
  EXPECT_EQ(steps[1].action->type, StepAction::Type::kCommand);  // `exec` is an alias
  EXPECT_EQ(steps[1].action->command, (std::vector<std::string>{"systemctl", "restart", "{{ .Labels.service }}"}));
  EXPECT_FALSE(steps[1].action->approve);
  EXPECT_EQ(steps[1].action->timeout, seconds(30));
  EXPECT_TRUE(steps[2].action->body.empty());
}

TEST(Loader, QuotedDetectorParamIsTextOnly) {
  auto cfg = load_config_string(R"(rules:
  - {name: A, select: up, detector: {kind: threshold, above: "5", below: -2.5e1}}
)",
                                "t.yaml", {});
  ASSERT_TRUE(cfg.has_value()) << cfg.error().to_string();
  const auto& params = cfg->rules[0].detector.params;
  EXPECT_EQ(params.at("above").text, "5");
  EXPECT_FALSE(params.at("above").number.has_value());
  EXPECT_EQ(params.at("below").number, -25.0);
}

TEST(Loader, TimeIntervalsReadAlertmanagerSyntax) {
  auto cfg = load_config_string(R"(time_intervals:
  - name: office-hours
    time_intervals:
      - times: [{start_time: "09:00", end_time: "17:00"}, {start_time: "18:30", end_time: "24:00"}]
        weekdays: ['Monday:FRIDAY', 'saturday']
        days_of_month: ['1:5', '-1', '-3:-2', '25:-1']
        months: ['january:march', '12', 'May:7']
        years: [2026:2027, 2030]  # unquoted works too
        location: 'Europe/Berlin'
      - {weekdays: [sunday], location: Local}
mute_time_intervals:
  - name: always
    time_intervals: [{}]
  - name: never
)",
                                "t.yaml", {});
  ASSERT_TRUE(cfg.has_value()) << cfg.error().to_string();
  ASSERT_EQ(cfg->time_intervals.size(), 3u);
  const NamedTimeInterval* office = cfg->time_interval("office-hours");
  ASSERT_NE(office, nullptr);
  EXPECT_EQ(office->pos.line, 2);
  ASSERT_EQ(office->intervals.size(), 2u);
  const TimeInterval& t = office->intervals[0];
  EXPECT_EQ(t.pos.line, 4);
  ASSERT_EQ(t.times.size(), 2u);
  EXPECT_EQ(t.times[0].start_minute, 9 * 60);
  EXPECT_EQ(t.times[0].end_minute, 17 * 60);
  EXPECT_EQ(t.times[1].start_minute, 18 * 60 + 30);
  EXPECT_EQ(t.times[1].end_minute, 1440);
  auto pairs = [](const std::vector<IntRange>& ranges) {
    std::vector<std::pair<int, int>> out;
    for (const IntRange& r : ranges) out.emplace_back(r.first, r.last);
    return out;
  };
  using Pairs = std::vector<std::pair<int, int>>;
  EXPECT_EQ(pairs(t.weekdays), (Pairs{{1, 5}, {6, 6}}));  // 0 = Sunday
  EXPECT_EQ(pairs(t.days_of_month), (Pairs{{1, 5}, {-1, -1}, {-3, -2}, {25, -1}}));
  EXPECT_EQ(pairs(t.months), (Pairs{{1, 3}, {12, 12}, {5, 7}}));
  EXPECT_EQ(pairs(t.years), (Pairs{{2026, 2027}, {2030, 2030}}));
  EXPECT_EQ(t.location, "Europe/Berlin");
  EXPECT_EQ(pairs(office->intervals[1].weekdays), (Pairs{{0, 0}}));
  EXPECT_EQ(office->intervals[1].location, "Local");
  EXPECT_TRUE(office->intervals[1].times.empty());

  // The older key has the same shape and lands in the same list.
  const NamedTimeInterval* always = cfg->time_interval("always");
  ASSERT_NE(always, nullptr);
  ASSERT_EQ(always->intervals.size(), 1u);
  EXPECT_EQ(always->intervals[0].location, "UTC");
  EXPECT_TRUE(always->intervals[0].weekdays.empty());
  ASSERT_NE(cfg->time_interval("never"), nullptr);
  EXPECT_TRUE(cfg->time_interval("never")->intervals.empty());
  EXPECT_EQ(cfg->time_interval("nope"), nullptr);
}

TEST(Loader, AlertingResolveTimeout) {
  auto defaults = load_config_string("server: {}\n", "t.yaml", {});
  ASSERT_TRUE(defaults.has_value()) << defaults.error().to_string();
  EXPECT_EQ(defaults->alerting.resolve_timeout, minutes(5));  // Alertmanager's default
  EXPECT_TRUE(defaults->time_intervals.empty());
  auto set = load_config_string("alerting: {resolve_timeout: 90s}\n", "t.yaml", {});
  ASSERT_TRUE(set.has_value()) << set.error().to_string();
  EXPECT_EQ(set->alerting.resolve_timeout, seconds(90));
}

TEST(Loader, RouteMatchersCombineAndSortLikeAlertmanager) {
  auto cfg = load_config_string(R"(channels: [{name: hook, type: webhook, url: "http://x/"}]
routes:
  receiver: hook
  routes:
    - receiver: hook
      matchers: ['team="db"', 'severity!="info"', 'env!~"dev|test"', 'severity=~"info"']
      match: {severity: info, alertname: DiskFull}
      match_re: {service: "api|web", severity: "crit.*"}
)",
                                "t.yaml", {});
  ASSERT_TRUE(cfg.has_value()) << cfg.error().to_string();
  std::vector<std::string> got;
  for (const core::Matcher& m : cfg->routes->routes[0].matchers) got.push_back(m.to_string());
  // By name, then value, then type (=, !=, =~, !~).
  EXPECT_EQ(got, (std::vector<std::string>{"alertname=\"DiskFull\"", "env!~\"dev|test\"", "service=~\"api|web\"",
                                           "severity=~\"crit.*\"", "severity=\"info\"", "severity!=\"info\"",
                                           "severity=~\"info\"", "team=\"db\""}));
  const auto& matchers = cfg->routes->routes[0].matchers;
  // match_re is anchored, as every regex matcher.
  EXPECT_TRUE(matchers[2].matches(core::Labels{{"service", "web"}}));
  EXPECT_FALSE(matchers[2].matches(core::Labels{{"service", "webapp"}}));
}

TEST(Loader, RouteTimeIntervalsAreNotInherited) {
  auto cfg = load_config_string(R"(channels: [{name: hook, type: webhook, url: "http://x/"}]
routes:
  receiver: hook
  routes:
    - receiver: hook
      mute_time_intervals: [holidays, weekend]
      active_time_intervals: [office]
      routes:
        - {matchers: ['severity="critical"']}
time_intervals:
  - {name: office, time_intervals: [{weekdays: ['monday:friday']}]}
mute_time_intervals:
  - {name: weekend, time_intervals: [{weekdays: [saturday, sunday]}]}
  - {name: holidays, time_intervals: [{days_of_month: ['25:26'], months: [december]}]}
)",
                                "t.yaml", {});
  ASSERT_TRUE(cfg.has_value()) << cfg.error().to_string();
  const Route& root = *cfg->routes;
  EXPECT_TRUE(root.mute_time_intervals.empty());
  const Route& child = root.routes[0];
  EXPECT_EQ(child.mute_time_intervals, (std::vector<std::string>{"holidays", "weekend"}));
  EXPECT_EQ(child.active_time_intervals, (std::vector<std::string>{"office"}));
  const Route& grandchild = child.routes[0];
  EXPECT_TRUE(grandchild.mute_time_intervals.empty());
  EXPECT_TRUE(grandchild.active_time_intervals.empty());
  EXPECT_EQ(grandchild.receiver, "hook");  // what is inherited still is
}

TEST(Loader, ChannelSendResolvedDefaultsPerTypeAndTemplates) {
  auto cfg = load_config_string(R"(channels:
  - {name: hook, type: webhook, url: "http://x/"}
  - {name: chat, type: slack, url: "http://x/"}
  - {name: mail, type: email, smtp: {host: localhost, from: a@example.com}}
  - {name: run, type: exec, command: [/bin/true]}
  - {name: quiet-hook, type: webhook, url: "http://x/", send_resolved: false}
  - name: loud-chat
    type: slack
    url: "http://x/"
    send_resolved: true
    title: '[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }}'
    body: |
      {{ range .Alerts }}{{ .Annotations.summary }}
      {{ end }}
)",
                                "t.yaml", {});
  ASSERT_TRUE(cfg.has_value()) << cfg.error().to_string();
  EXPECT_TRUE(cfg->channel("hook")->send_resolved);
  EXPECT_FALSE(cfg->channel("chat")->send_resolved);
  EXPECT_FALSE(cfg->channel("mail")->send_resolved);
  EXPECT_TRUE(cfg->channel("run")->send_resolved);
  EXPECT_FALSE(cfg->channel("quiet-hook")->send_resolved);
  const Channel* loud = cfg->channel("loud-chat");
  EXPECT_TRUE(loud->send_resolved);
  EXPECT_EQ(loud->title_template, "[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }}");
  EXPECT_EQ(loud->body_template, "{{ range .Alerts }}{{ .Annotations.summary }}\n{{ end }}\n");
  EXPECT_TRUE(cfg->channel("hook")->title_template.empty());
  EXPECT_TRUE(cfg->channel("hook")->body_template.empty());
}

TEST(Loader, RisksByHandAndFromAModel) {
  TempDir dir;
  dir.write("models/incidents.json", "{}");
  auto cfg = load_config_string(R"(risks:
  - id: db-outage
    title: Primary database crashes
    likelihood: 0.3
    impact: 5
    owner: alice
    plan: crash
    mitigation: Nightly failover drill
    review: 2027-03-01
  - id: breach
    title: Customer data leaks
    likelihood_from: {model: models/incidents.json, class: data_breach}
    impact: 4
    owner: alice
    review: 2027-01-15
people: [{id: alice}]
plans:
  - {id: crash}
)",
                                "t.yaml", dir.path());
  ASSERT_TRUE(cfg.has_value()) << cfg.error().to_string();
  ASSERT_EQ(cfg->risks.size(), 2u);
  const Risk& a = cfg->risks[0];
  EXPECT_EQ(a.id, "db-outage");
  EXPECT_EQ(a.title, "Primary database crashes");
  EXPECT_EQ(a.likelihood, 0.3);
  EXPECT_FALSE(a.likelihood_from.has_value());
  EXPECT_EQ(a.impact, 5);
  EXPECT_EQ(a.owner, "alice");
  EXPECT_EQ(a.plan, "crash");
  EXPECT_EQ(a.mitigation, "Nightly failover drill");
  EXPECT_EQ(a.review, std::chrono::sys_days(std::chrono::year(2027) / 3 / 1));
  EXPECT_EQ(a.pos.line, 2);
  const Risk& b = cfg->risks[1];
  EXPECT_FALSE(b.likelihood.has_value());
  ASSERT_TRUE(b.likelihood_from.has_value());
  EXPECT_EQ(b.likelihood_from->model, (dir.path() / "models/incidents.json").string());
  EXPECT_EQ(b.likelihood_from->cls, "data_breach");
  EXPECT_TRUE(b.plan.empty());
  EXPECT_TRUE(b.mitigation.empty());
}

TEST(Loader, RiskModelDataFile) {
  TempDir dir;
  dir.write("models/incidents.json", "{}");
  dir.write("data/incidents.csv", "a,label\n1,x\n");
  const std::string yaml = R"(people: [{id: alice}]
risks:
  - id: breach
    title: Customer data leaks
    likelihood_from:
      model: models/incidents.json
      class: data_breach
      data: DATA
    impact: 4
    owner: alice
    review: 2027-01-15
)";
  auto with = [&](std::string_view data) {
    std::string text = yaml;
    text.replace(text.find("DATA"), 4, data);
    return load_config_string(text, "t.yaml", dir.path());
  };
  auto ok = with("data/incidents.csv");
  ASSERT_TRUE(ok.has_value()) << ok.error().to_string();
  EXPECT_EQ(ok->risks[0].likelihood_from->data, (dir.path() / "data/incidents.csv").string());
  auto absent = with("data/absent.csv");
  ASSERT_FALSE(absent.has_value());
  EXPECT_EQ(absent.error().position().line, 8);
  EXPECT_EQ(absent.error().field(), "risks[0].likelihood_from.data");
  EXPECT_NE(absent.error().message().find("absent.csv does not exist"), std::string::npos) << absent.error().message();
}

TEST(Config, TargetsRoundTrip) {
  for (std::string_view text : {"schedule:ops-primary", "person:carol", "channel:ops-hook"}) {
    auto t = parse_target(text);
    ASSERT_TRUE(t.has_value()) << text;
    EXPECT_EQ(t->to_string(), text);
  }
  EXPECT_EQ(parse_target("person:carol")->kind, Target::Kind::kPerson);
  for (std::string_view bad : {"carol", "team:x", "person:", ""}) {
    auto t = parse_target(bad);
    ASSERT_FALSE(t.has_value()) << bad;
    EXPECT_NE(t.error().message().find("expected schedule:ID, person:ID or channel:NAME"), std::string::npos);
  }
}

TEST(Config, Severities) {
  for (auto s : kSeverities) EXPECT_TRUE(is_valid_severity(s));
  EXPECT_FALSE(is_valid_severity("Critical"));
  EXPECT_FALSE(is_valid_severity(""));
}


TEST(Loader, LiveRiskIndicatorsAreSelectorsAndAnAlertNeedsThem) {
  TempDir dir;
  dir.write("m.json", "{}");
  const std::string head = R"(people: [{id: alice}]
risks:
  - id: r1
    title: Outage
    impact: 3
    owner: alice
    review: 2027-01-01
)";
  auto good = load_config_string(head + R"(    likelihood_from:
      model: m.json
      class: crash
      indicators: {load: 'system_load{service="api"}', errors: http_errors}
      every: 30s
      alert_above: 0.8
      labels: {incident_type: system_crash}
)", "t.yaml", dir.path());
  ASSERT_TRUE(good.has_value()) << good.error().to_string();
  const auto& ref = *good->risks[0].likelihood_from;
  ASSERT_EQ(ref.indicators.size(), 2u);
  EXPECT_EQ(ref.every, seconds(30));
  EXPECT_EQ(ref.alert_above, 0.8);
  EXPECT_EQ(ref.labels.at("incident_type"), "system_crash");

  auto bad_selector = load_config_string(head + R"(    likelihood_from: {model: m.json, class: crash, indicators: {load: 'system_load{service='}}
)", "t.yaml", dir.path());
  ASSERT_FALSE(bad_selector);
  EXPECT_NE(bad_selector.error().message().find("bad selector"), std::string::npos) << bad_selector.error().to_string();
  EXPECT_EQ(bad_selector.error().position().line, 8);

  auto no_indicators = load_config_string(head + R"(    likelihood_from: {model: m.json, class: crash, alert_above: 0.5}
)", "t.yaml", dir.path());
  ASSERT_FALSE(no_indicators);
  EXPECT_NE(no_indicators.error().message().find("need indicators"), std::string::npos);

  auto out_of_range = load_config_string(head + R"(    likelihood_from: {model: m.json, class: crash, indicators: {a: x}, alert_above: 1.5}
)", "t.yaml", dir.path());
  ASSERT_FALSE(out_of_range);
}

TEST(Loader, LimitsDefaultsAndOverrides) {
  auto defaults = load_config_string("{}\n", "t.yaml", {});
  ASSERT_TRUE(defaults.has_value()) << defaults.error().to_string();
  EXPECT_EQ(defaults->limits.max_body_bytes, 16 << 20);
  EXPECT_EQ(defaults->limits.max_labels_per_series, 64);
  EXPECT_EQ(defaults->limits.rate.requests_per_second, 0);  // off
  auto cfg = load_config_string(R"(limits:
  max_body_bytes: 2048
  max_labels_per_series: 8
  max_label_value_bytes: 100
  read_timeout: 5s
  max_connections: 10
  max_silences: 3
  rate: {requests_per_second: 2.5, burst: 5, max_clients: 100}
)",
                                "t.yaml", {});
  ASSERT_TRUE(cfg.has_value()) << cfg.error().to_string();
  EXPECT_EQ(cfg->limits.max_body_bytes, 2048);
  EXPECT_EQ(cfg->limits.max_labels_per_series, 8);
  EXPECT_EQ(cfg->limits.max_label_value_bytes, 100);
  EXPECT_EQ(cfg->limits.read_timeout, std::chrono::seconds(5));
  EXPECT_EQ(cfg->limits.max_connections, 10);
  EXPECT_EQ(cfg->limits.max_silences, 3);
  EXPECT_EQ(cfg->limits.rate.requests_per_second, 2.5);
  EXPECT_EQ(cfg->limits.rate.burst, 5);
  EXPECT_EQ(cfg->limits.rate.max_clients, 100);
  EXPECT_EQ(cfg->limits.max_series, 1'000'000);  // untouched
}

TEST(LoaderTls, ReadsRelativeFilesAndMinVersion) {
  TempDir dir;
  std::filesystem::create_directories(dir.path() / "tls");
  test_support::write_self_signed_cert(dir.path() / "tls", "server");
  auto plain = load_config_string("server: {listen: 127.0.0.1:1}\n", "t.yaml", dir.path());
  ASSERT_TRUE(plain.has_value()) << plain.error().to_string();
  EXPECT_FALSE(plain->server.tls.has_value());
  auto cfg = load_config_string(R"(server:
  tls: {cert_file: tls/server.crt, key_file: tls/server.key, min_version: "1.3"}
)",
                                "t.yaml", dir.path());
  ASSERT_TRUE(cfg.has_value()) << cfg.error().to_string();
  ASSERT_TRUE(cfg->server.tls.has_value());
  EXPECT_EQ(cfg->server.tls->cert_file, (dir.path() / "tls/server.crt").string());
  EXPECT_EQ(cfg->server.tls->key_file, (dir.path() / "tls/server.key").string());
  EXPECT_EQ(cfg->server.tls->min_version, "1.3");
  auto defaulted = load_config_string("server:\n  tls: {cert_file: tls/server.crt, key_file: tls/server.key}\n",
                                      "t.yaml", dir.path());
  ASSERT_TRUE(defaulted.has_value()) << defaulted.error().to_string();
  EXPECT_EQ(defaulted->server.tls->min_version, "1.2");
}

// `key_file` again, encrypted with a pass phrase, as `openssl pkey -aes256` would write it.
std::string write_encrypted_copy(const std::string& key_file, const std::filesystem::path& out) {
  std::unique_ptr<std::FILE, decltype(&std::fclose)> in(std::fopen(key_file.c_str(), "r"), std::fclose);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(PEM_read_PrivateKey(in.get(), nullptr, nullptr, nullptr),
                                                          EVP_PKEY_free);
  std::unique_ptr<std::FILE, decltype(&std::fclose)> f(std::fopen(out.c_str(), "w"), std::fclose);
  char pass[] = "secret";
  EXPECT_EQ(PEM_write_PrivateKey(f.get(), key.get(), EVP_aes_256_cbc(), reinterpret_cast<unsigned char*>(pass), 6,
                                 nullptr, nullptr),
            1);
  return out.string();
}

TEST(LoaderTls, BadFilesNameTheFileLineAndProblem) {
  TempDir dir;
  const auto a = test_support::write_self_signed_cert(dir.path(), "a");
  const std::string encrypted = write_encrypted_copy(a.key_file, dir.path() / "encrypted.key");
  const auto b = test_support::write_self_signed_cert(dir.path(), "b");
  dir.write("garbage.pem", "not a certificate\n");
  const std::string missing = (dir.path() / "missing.crt").string();
  const std::string garbage = (dir.path() / "garbage.pem").string();
  struct Case {
    std::string cert, key;
    std::string message;  // a substring
    int line;
    std::string field;
  };
  const Case cases[] = {
      {missing, a.key_file, "cannot read the TLS certificate " + missing + ": No such file or directory", 3,
       "server.tls.cert_file"},
      {a.cert_file, (dir.path() / "nope.key").string(), "cannot read the TLS key " + (dir.path() / "nope.key").string(),
       4, "server.tls.key_file"},
      {garbage, a.key_file, "the TLS certificate file " + garbage + " holds no PEM certificate", 3,
       "server.tls.cert_file"},
      // A key where the certificate belongs is not a certificate.
      {a.key_file, a.key_file, "the TLS certificate file " + a.key_file + " holds no PEM certificate", 3,
       "server.tls.cert_file"},
      {a.cert_file, a.cert_file, "the TLS key file " + a.cert_file + " holds no unencrypted PEM private key", 4,
       "server.tls.key_file"},
      {a.cert_file, b.key_file, "the TLS key in " + b.key_file + " does not match the certificate in " + a.cert_file,
       4, "server.tls.key_file"},
      // No pass-phrase prompt: an encrypted key is refused.
      {a.cert_file, encrypted, "the TLS key file " + encrypted + " holds no unencrypted PEM private key", 4,
       "server.tls.key_file"},
  };
  for (const Case& c : cases) {
    const std::string yaml = fmt::format("server:\n  tls:\n    cert_file: {}\n    key_file: {}\n", c.cert, c.key);
    SCOPED_TRACE(yaml);
    auto cfg = load_config_string(yaml, "t.yaml", dir.path());
    ASSERT_FALSE(cfg.has_value());
    EXPECT_NE(cfg.error().message().find(c.message), std::string::npos) << cfg.error().to_string();
    EXPECT_EQ(cfg.error().position().line, c.line) << cfg.error().to_string();
    EXPECT_EQ(cfg.error().field(), c.field) << cfg.error().to_string();
  }
}

TEST(LoaderTls, NeedsBothFilesAndAKnownVersion) {
  TempDir dir;
  const auto a = test_support::write_self_signed_cert(dir.path(), "a");
  auto only_cert = load_config_string(fmt::format("server:\n  tls: {{cert_file: {}}}\n", a.cert_file), "t.yaml", dir.path());
  ASSERT_FALSE(only_cert.has_value());
  EXPECT_EQ(only_cert.error().field(), "server.tls.key_file");
  EXPECT_NE(only_cert.error().message().find("expected both cert_file and key_file"), std::string::npos);
  auto only_key = load_config_string(fmt::format("server:\n  tls: {{key_file: {}}}\n", a.key_file), "t.yaml", dir.path());
  ASSERT_FALSE(only_key.has_value());
  EXPECT_EQ(only_key.error().field(), "server.tls.cert_file");
  auto version = load_config_string(
      fmt::format("server:\n  tls: {{cert_file: {}, key_file: {}, min_version: \"1.1\"}}\n", a.cert_file, a.key_file),
      "t.yaml", dir.path());
  ASSERT_FALSE(version.has_value());
  EXPECT_EQ(version.error().field(), "server.tls.min_version");
  auto unknown = load_config_string(
      fmt::format("server:\n  tls: {{cert_file: {}, key_file: {}, ciphers: ALL}}\n", a.cert_file, a.key_file),
      "t.yaml", dir.path());
  ASSERT_FALSE(unknown.has_value());
  EXPECT_EQ(unknown.error().field(), "server.tls.ciphers");
  auto empty = load_config_string("server:\n  tls:\n", "t.yaml", dir.path());
  ASSERT_TRUE(empty.has_value()) << empty.error().to_string();
  EXPECT_FALSE(empty->server.tls.has_value());
}

}  // namespace
}  // namespace tocsin::config
