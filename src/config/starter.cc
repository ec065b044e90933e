#include "config/starter.h"

#include <array>
#include <string_view>

#include "core/file_io.h"

namespace tocsin::config {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kMainConfig = R"yaml(# tocsin configuration — written by `tocsin init`.
# Check it with `tocsin check-config tocsin.yaml`; run it with `tocsin serve --config tocsin.yaml`.
# Durations use Prometheus syntax (30s, 5m, 72h, 90d); matchers use Alertmanager syntax
# ('severity="critical"', 'service=~"api|web"'). Unknown keys are errors, so a typo is caught.

server:
  listen: 127.0.0.1:8470               # host:port of the HTTP API and web UI (port 0 = any free port)
  data_dir: ./tocsin-data              # the embedded SQLite store; relative to this file
  # store: postgres://tocsin@127.0.0.1/tocsin   # a shared store instead, for several replicas
  external_url: http://127.0.0.1:8470  # base of the links inside notifications
  log_level: info                      # debug | info | warn | error
  # ack_secret_env: TOCSIN_ACK_SECRET  # signs the acknowledge links in pages (>= 16 bytes; the same
  #                                    # on every replica); default: a random key in data_dir/ack.key
  # tls:                               # HTTPS only (then external_url: https://...); SIGHUP reloads
  #   cert_file: tls/server.crt        # PEM certificate, then intermediates; relative to this file
  #   key_file: tls/server.key         # its PEM private key, unencrypted

# auth:                                # off until tokens are listed; then every route needs one
#   tokens:                            # (docs/security.md: which role each route needs)
#     # role: viewer (read) | responder (ack, resolve, notes, tasks, silences) | admin (everything)
#     # the secret comes from an environment variable (token_env), a file (token_file), or the
#     # config holds only its SHA-256 (token_sha256); at least 16 bytes: openssl rand -hex 32
#     - {name: ops-cli, role: responder, token_env: TOCSIN_OPS_TOKEN}
#   intake: {secret_env: TOCSIN_INTAKE_SECRET}   # what Prometheus / Alertmanager send

people:                                # who can be paged; ids are used everywhere below
  - id: alice
    name: Alice Zhang
    timezone: UTC                      # IANA name, e.g. Asia/Shanghai; used to show local times
    contact:                           # any of: email, webhook, slack (incoming-webhook URL)
      webhook: http://127.0.0.1:9000/alice
  - id: bob
    name: Bob Martin
    timezone: UTC
    contact: {webhook: http://127.0.0.1:9000/bob}
  - id: carol
    name: Carol Diaz
    timezone: UTC
    contact: {webhook: http://127.0.0.1:9000/carol}

channels:                              # where notifications go
  # type webhook: POSTs JSON to url; format json (tocsin's own) or alertmanager (webhook v4);
  # secret_env or secret_file: sign every POST (X-Tocsin-Signature, see docs/notifications.md)
  - {name: ops-hook, type: webhook, url: http://127.0.0.1:9000/hook, format: alertmanager}
  # Other channel types:
  # - {name: chat, type: slack, url: https://hooks.slack.com/services/T000/B000/XXXX}
  # - {name: mail, type: email, to: [oncall@example.com],   # people's contact emails go through
  #    smtp: {host: 127.0.0.1, port: 2525, from: tocsin@example.com, starttls: false}}  # the first one
  #    # SMTP AUTH: username: tocsin, password_env: TOCSIN_SMTP_PASSWORD
  # - {name: pager, type: exec, command: [/usr/local/bin/page, --urgent], timeout: 10s}  # page on stdin
  # Every type also takes send_resolved (default: true for webhook and exec, false for slack and
  # email) and title/body notification templates.

schedules:                             # who is on call when
  - id: ops-primary
    timezone: UTC                      # hand-off times below are local to this zone
    layers:                            # a later layer wins where it has someone on call
      # rotation: weekly (handoff "Mon 09:00") | daily (handoff "09:00") |
      #           custom (handoff "09:00" plus shift_length, e.g. 3d)
      # start: the date of the first shift; members take turns in this order
      - {rotation: weekly, handoff: "Mon 09:00", start: 2026-01-05, members: [alice, bob]}
    overrides:                         # one person covers a window, whatever the layers say
      - {person: carol, from: "2026-12-24T00:00", to: "2026-12-26T00:00"}

escalation_policies:                   # how paging climbs when nobody acknowledges
  - id: ops
    repeat: 2                          # passes after the first (0 = the ladder runs once)
    repeat_every: 30m                  # length of a pass; required when repeat > 0, and
                                       # longer than the last level's `after`
    levels:                            # `after`: time since the pass started (the first pass
                                       # starts when the incident triggers)
      - {after: 0m,  notify: ["schedule:ops-primary"]}
      - {after: 10m, notify: ["person:carol", "channel:ops-hook"]}
                                       # targets: schedule:ID, person:ID, channel:NAME
                                       # acknowledging the incident stops the ladder

scrape:                                # pull Prometheus exposition text from targets
  - {job: tocsin, interval: 15s, timeout: 10s, metrics_path: /metrics, targets: ["127.0.0.1:8470"]}

probes:                                # uptime checks: http (a URL) or tcp (host:port)
  - {name: tocsin-self, http: "http://127.0.0.1:8470/healthz", interval: 30s, timeout: 5s}

rules:                                 # early-warning rules over the incoming series
  # select: a PromQL instant-vector selector, or fn(selector[range]) with fn one of rate, increase,
  # avg_over_time, min_over_time, max_over_time, sum_over_time, count_over_time, last_over_time,
  # quantile_over_time(0.9, ...) (docs/selectors.md).
  # detector: how a sample becomes an alert (docs/detection.md): threshold (above/below),
  # sigma (mean + n standard deviations over a window), ewma, mad (robust z-score), seasonal
  # (daily/weekly patterns), changepoint (level and variance shifts), absent (no samples for a
  # while), auto (the best default with no tuning).
  # for: how long the condition must hold before the alert fires (pending until then).
  # keep_firing_for: how long it keeps firing after the condition clears.
  # severity: critical | major | minor | warning | info.
  # labels.incident_type picks the emergency plan (see plans/ and each plan's `match`).
  - name: HighLoad
    select: system_load
    detector: {kind: threshold, above: 0.9}
    for: 1m
    severity: major
    labels: {incident_type: system_crash}
    annotations: {summary: "load {{ $value | humanize }} on {{ $labels.instance }}"}
  - name: DataExfiltration
    select: 'security_events_total{kind="exfiltration"}'
    detector: {kind: threshold, above: 0}
    severity: critical
    labels: {incident_type: data_breach}
    annotations: {summary: "exfiltration events reported by {{ $labels.instance }}"}
  - name: InboundFlood
    select: network_inbound_mbps
    detector: {kind: threshold, above: 800}
    for: 2m
    keep_firing_for: 5m
    severity: major
    labels: {incident_type: network_attack}
    annotations: {summary: "inbound traffic {{ $value | humanize }} Mbit/s"}
  - name: LatencyBaseline
    select: http_latency_ms
    detector: {kind: sigma, n: 3, window: 1h}   # population sigma of the last hour
    for: 2m
    severity: warning
    labels: {incident_type: system_crash}
    annotations: {summary: "latency {{ $value | humanize }} ms on {{ $labels.instance }} is far off its baseline"}
  - name: ErrorRate
    select: 'rate(http_requests_errors_total[5m])'
    detector: {kind: threshold, above: 5}     # errors per second
    severity: major
    labels: {incident_type: system_crash}
  - name: FeedbackSurge                      # users telling you before your metrics do
    select: user_feedback_reports            # from POST /api/v1/events
    detector: {kind: auto}
    severity: warning
    labels: {incident_type: system_crash}

alerting:
  resolve_timeout: 5m                  # an alert pushed without endsAt resolves this long after the last push

limits:                                # hostile input (docs/security.md); these are the defaults
  max_body_bytes: 16777216             # 16 MiB; a larger body is a 413
  read_timeout: 30s                    # a whole request, from its first byte
  idle_timeout: 75s                    # a kept-alive connection without a request
  max_connections: 1024                # one more is answered 503
  max_labels_per_series: 64            # and max_label_name_bytes: 1024, max_label_value_bytes: 4096
  max_series_per_request: 100000       # also max_alerts_per_request, max_events_per_request: 10000
  max_series: 1000000                  # series in memory; new ones beyond are refused
  rate: {requests_per_second: 0}       # per client IP on writes; 0 = off; e.g. {requests_per_second: 50, burst: 200}

time_intervals:                        # Alertmanager time intervals, for routes' mute/active_time_intervals
  - name: weekends
    time_intervals:
      - {weekdays: ['saturday', 'sunday'], location: UTC}

routes:                                # Alertmanager semantics, for alerts that match no plan
  receiver: ops-hook                   # a channel name; children inherit what they leave unset
  group_by: [alertname, service]       # ['...'] groups by every label
  group_wait: 0s                       # wait before the first notification of a new group
  group_interval: 1m                   # wait before notifying about changes to a group
  repeat_interval: 4h                  # re-send a still-firing group this often
  routes:
    - {matchers: ['severity="info"'], receiver: ops-hook, repeat_interval: 24h}
    # - {matchers: ['team="batch"'], receiver: ops-hook, mute_time_intervals: [weekends]}

inhibit_rules:                         # a firing source alert mutes matching target alerts
  - {source_matchers: ['severity="critical"'], target_matchers: ['severity="warning"'], equal: [service]}

plans:                                 # emergency plans: an include glob, or a plan inline
  - include: plans/*.yaml

risks:                                 # the risk register: GET /api/v1/risk, `tocsin risk register --plot`
  # score = likelihood (a probability, 0..1) × impact (1..5): low < 1, medium < 2, high < 3.5,
  # critical from 3.5 (docs/risk-register.md). `review` is the next review date; after it the risk
  # shows as overdue. A likelihood can also come from a trained model (`tocsin risk train`):
  #   likelihood_from: {model: models/incidents.model, class: system_crash}
  # (add `data: incidents.csv` to see its decision regions at /api/v1/risk/models/incidents/regions.svg)
  - id: primary-db-crash
    title: The primary database server crashes during business hours
    likelihood: 0.3                    # about once in three years of comparable systems
    impact: 5                          # 1 negligible … 5 severe
    owner: bob                         # a person id
    plan: system_crash                 # the emergency plan that answers it (optional)
    mitigation: Streaming replica on the backup server; failover rehearsed every quarter
    review: 2027-03-01
  - id: customer-data-leak
    title: Customer personal data leaks through a compromised account
    likelihood: 0.15
    impact: 5
    owner: carol
    plan: data_breach
    mitigation: MFA for all staff, least-privilege database roles, quarterly access review
    review: 2027-02-01
  - id: ddos-checkout
    title: A volumetric DDoS takes the checkout offline
    likelihood: 0.4
    impact: 4
    owner: alice
    plan: network_attack
    mitigation: Upstream scrubbing contract; rate limits ready to switch on at the edge
    review: 2027-01-15
  - id: expired-certificate
    title: A TLS certificate expires unnoticed
    likelihood: 0.5
    impact: 2
    owner: alice
    mitigation: Automatic renewal; a probe alerts 14 days before expiry
    review: 2027-06-01
)yaml";

constexpr std::string_view kSystemCrashPlan = R"yaml(# Emergency plan: a server or service has crashed.
# Flow: activate and page → on-site triage of servers and network → dispatch resources (fail over
# to the backup server, an approval-gated action) → recover and verify → postmortem.
id: system_crash
title: System crash
match: ['incident_type="system_crash"']   # alert groups matching this open an incident with this plan
severity: critical                        # critical | major | minor | warning | info
escalation: ops                           # the escalation policy that pages the roles
roles:                                    # who fills each role: "schedule:ID" or "person:ID"
  commander: "schedule:ops-primary"       # resolved to a person when the incident opens
  operations: "person:bob"
steps:                                    # become the incident's tasks; due is from the opening
  - id: activate
    title: Activate the plan, acknowledge and page the responders
    owner: commander
    due: 5m
    checklist: [Acknowledge the page, Open the incident channel, Confirm who fills each role]
  - id: triage
    title: "On-site triage: check servers and network, find the failing part"
    owner: operations
    due: 15m
    checklist: [Check host health and disk, Check the network path and upstreams, Check recent deploys]
  - id: failover
    title: Dispatch resources - switch traffic to the backup server
    owner: operations
    due: 20m
    # an automated action: type webhook (url, optional body) or command (argv list, or a string for
    # /bin/sh -c); url, body and argv are templates ({{ .Incident.ID }}, {{ .Labels.service }}, …);
    # approve: true waits for POST /api/v1/incidents/ID/actions/failover/approve (docs/plans.md)
    action: {type: webhook, url: "http://127.0.0.1:9000/failover", approve: true, timeout: 30s}
  - id: recover
    title: Recover the primary and verify service end to end
    owner: operations
    due: 2h
    checklist: [Primary healthy, Traffic moved back, Error rate and latency normal for 15 minutes]
  - {id: postmortem, title: Hold the postmortem, owner: commander, due: 72h}
resources:                                # what responders need at hand
  - {name: backup-server, kind: host, ref: "10.0.0.12"}
  - {name: runbook, kind: document, ref: "https://wiki.example.com/runbooks/system-crash"}
communications:                           # message templates
  status: "We are investigating an outage of {{ .service }}. Next update in 30 minutes."
clocks:                                   # deadlines that run from a timeline event
  # a reminder to the commander every 30 minutes until the incident is resolved
  - {name: status-update, every: 30m, from: opened, owner: commander}
review_every: 90d                         # the plan itself is reviewed this often;
reviewed: 2026-11-02                      # check-config, /api/v1/plans and /metrics report overdue plans
# rehearse it every 30 days with this scenario (`tocsin drill run`; the path is relative to
# tocsin.yaml); GET /api/v1/drills, /api/v1/plans and /metrics report drills that are overdue
drill: {every: 30d, scenario: scenarios/system_crash.yaml}
)yaml";

constexpr std::string_view kDataBreachPlan = R"yaml(# Emergency plan: personal data may have left the company.
# Flow: activate and page the security lead → investigate source and scope → contain (block the
# attack source, an action) → restore affected data from backups → notify the supervisory
# authority within 72 hours of confirming the breach (GDPR art. 33) and inform affected users →
# postmortem.
id: data_breach
title: Personal data breach
match: ['incident_type="data_breach"']
severity: critical
escalation: ops
roles:
  commander: "schedule:ops-primary"
  security_lead: "person:carol"
  legal: "person:bob"
steps:
  - {id: activate, title: Activate the plan and page the security lead, owner: security_lead, due: 15m}
  - id: investigate
    title: Investigate the source and scope of the breach
    owner: security_lead
    due: 4h
    checklist: [Which systems, Which data categories, How many data subjects, Since when, How it got out]
  - id: confirm
    title: Confirm the breach (record the breach_confirmed event; it starts the 72-hour clock)
    owner: commander
    due: 24h
  - id: contain
    title: Contain - block the attack source
    owner: security_lead
    due: 1h
    action: {type: command, command: [/usr/local/bin/block-source, --incident, "{{ .Incident.ID }}"], approve: true, timeout: 1m}
  - {id: restore, title: Restore affected data from backups and verify it, owner: security_lead, due: 24h}
  - {id: notify_regulator, title: Notify the supervisory authority (GDPR art. 33), owner: legal, due: 72h}
  - {id: notify_users, title: Inform the affected users (GDPR art. 34 when the risk to them is high), owner: legal, due: 96h}
  - {id: postmortem, title: Hold the postmortem, owner: commander, due: 14d}
resources:
  - {name: dpo, kind: contact, ref: "dpo@example.com"}
  - {name: authority-form, kind: document, ref: "https://example.com/authority-breach-form"}
  - {name: backups, kind: document, ref: "https://wiki.example.com/runbooks/restore-from-backup"}
communications:
  regulator: "Notification of a personal data breach under GDPR art. 33: nature, categories, approximate numbers, likely consequences, measures taken."
  users: "We are writing to tell you about an incident that may affect your personal data."
clocks:
  # GDPR art. 33: notify the supervisory authority within 72 hours of becoming aware of a
  # personal-data breach. The clock starts at the breach_confirmed timeline event
  # (POST /api/v1/incidents/ID/events {"kind": "breach_confirmed"}) and stops when the
  # notify_regulator task is done; if it runs out, legal is paged.
  - {name: regulator-notification, within: 72h, from: breach_confirmed, until: "task_done:notify_regulator", owner: legal}
  - {name: status-update, every: 1h, owner: commander}
review_every: 180d
reviewed: 2026-10-15
drill: {every: 90d, scenario: scenarios/data_breach.yaml}
)yaml";

constexpr std::string_view kNetworkAttackPlan =
    R"yaml(# Emergency plan: a network attack (flood, scan or intrusion attempt).
# Flow: detect and page → rate-limit or divert traffic → block sources → verify → postmortem.
id: network_attack
title: Network attack
match: ['incident_type="network_attack"']
severity: major
escalation: ops
roles:
  commander: "schedule:ops-primary"
  network: "person:alice"
steps:
  - {id: detect, title: Confirm the attack and page the network owner, owner: commander, due: 5m}
  - id: rate_limit
    title: Rate-limit or divert the affected traffic
    owner: network
    due: 15m
    action: {type: command, command: [/usr/local/bin/rate-limit, --profile, strict], approve: true, timeout: 1m}
  - id: block_sources
    title: Block the attacking source ranges
    owner: network
    due: 20m
    checklist: [Source ranges collected, Blocked at the edge firewall, Upstream NOC informed]
  - {id: verify, title: Verify service and lift temporary limits, owner: network, due: 4h}
  - {id: postmortem, title: Hold the postmortem, owner: commander, due: 72h}
resources:
  - {name: upstream-noc, kind: contact, ref: "noc@isp.example.com"}
  - {name: edge-firewall, kind: host, ref: "10.0.0.1"}
communications:
  status: "We are mitigating a network attack. Some requests may be slowed or rejected."
clocks:
  - {name: status-update, every: 30m, owner: commander}
review_every: 90d
reviewed: 2026-11-02
drill: {every: 30d, scenario: scenarios/network_attack.yaml}
)yaml";


constexpr std::array<core::NewFile, 4> kFiles{{{"tocsin.yaml", kMainConfig},
                                               {"plans/system_crash.yaml", kSystemCrashPlan},
                                               {"plans/data_breach.yaml", kDataBreachPlan},
                                               {"plans/network_attack.yaml", kNetworkAttackPlan}}};

}  // namespace

core::Status write_starter_config(const fs::path& dir) { return core::write_new_files(dir, kFiles); }

}  // namespace tocsin::config
