-- overcast cluster schema, version 1. Applied once, in one transaction, by
-- overcast.cluster.pg_schema.migrate; never edited after release: later changes are
-- new numbered files.

-- The schema's version (one row), bumped by migrate after each file.
CREATE TABLE overcast_schema (
    singleton   boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    version     integer NOT NULL,
    migrated_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO overcast_schema (version) VALUES (0);

-- Nodes: one row per node name. Times are the database's clock, so nodes whose
-- clocks disagree still agree on heartbeat ages. ``incarnation`` changes on every
-- start: a node that lost its name to a takeover finds out on its next heartbeat.
CREATE TABLE nodes (
    name         text PRIMARY KEY,
    address      text NOT NULL,
    version      text NOT NULL,
    state        text NOT NULL CHECK (state IN ('active', 'draining', 'stopped')),
    incarnation  text NOT NULL,
    started_at   timestamptz NOT NULL,
    heartbeat_at timestamptz NOT NULL
);

-- The master key's check record: a fixed text sealed (AES-256-GCM) by the first node;
-- a node whose key does not open it refuses to start.
CREATE TABLE master_key_check (
    singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    sealed     bytea NOT NULL,
    written_by text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Deploy history (overcast.control.deploy_store's model): immutable function
-- versions numbered per (stack, function), deployments numbered per (stage, stack),
-- and each stack's alias in a stage pointing at its current deployment.
CREATE TABLE function_versions (
    stack       text NOT NULL,
    function    text NOT NULL,
    version     integer NOT NULL CHECK (version > 0),
    stage       text NOT NULL,
    fingerprint text NOT NULL,
    code_sha256 text NOT NULL,
    created     double precision NOT NULL,
    PRIMARY KEY (stack, function, version)
);
CREATE TABLE deployments (
    id       text PRIMARY KEY,
    stage    text NOT NULL,
    stack    text NOT NULL,
    seq      integer NOT NULL CHECK (seq > 0),
    created  double precision NOT NULL,
    finished double precision,
    status   text NOT NULL CHECK (status IN ('InProgress', 'Succeeded', 'Failed', 'RolledBack')),
    kind     text NOT NULL,
    request  bytea NOT NULL,
    versions jsonb NOT NULL,
    message  text NOT NULL DEFAULT '',
    reason   text NOT NULL DEFAULT '',
    UNIQUE (stage, stack, seq)
);
CREATE INDEX deployments_in_progress ON deployments (status) WHERE status = 'InProgress';
CREATE TABLE aliases (
    stage   text NOT NULL,
    stack   text NOT NULL,
    current text REFERENCES deployments (id),
    PRIMARY KEY (stage, stack)
);

-- The asynchronous-invocation queue (overcast.events.async_queue's model). Times are
-- epoch seconds from the dispatcher's clock. ``claimed_by`` names the node running an
-- in-flight event, so only a dead node's events are requeued. ``seq`` orders events
-- due at the same time in the order they came.
CREATE TABLE async_events (
    seq             bigint GENERATED ALWAYS AS IDENTITY,
    request_id      text PRIMARY KEY,
    function        text NOT NULL,
    qualifier       text NOT NULL,
    payload         bytea,
    client_context  text,
    enqueued_at     double precision NOT NULL,
    due_at          double precision NOT NULL,
    state           text NOT NULL CHECK (state IN ('queued', 'in_flight', 'succeeded', 'failed')),
    attempts        integer NOT NULL DEFAULT 0,
    function_errors integer NOT NULL DEFAULT 0,
    throttles       integer NOT NULL DEFAULT 0,
    last_error      text,
    last_version    text,
    last_response   bytea,
    condition       text,
    settled_at      double precision,
    claimed_by      text,
    claimed_at      double precision
);
CREATE INDEX async_events_due ON async_events (due_at, seq) WHERE state = 'queued';
CREATE INDEX async_events_by_function ON async_events (function, qualifier, state);
CREATE INDEX async_events_in_flight ON async_events (claimed_by) WHERE state = 'in_flight';
CREATE INDEX async_events_settled ON async_events (settled_at)
    WHERE state IN ('succeeded', 'failed');
CREATE TABLE schedule_ticks (
    schedule_id text NOT NULL,
    tick        double precision NOT NULL,
    request_id  text NOT NULL,
    claimed_at  double precision NOT NULL,
    PRIMARY KEY (schedule_id, tick)
);

-- Sketches filled by later work (issue 13): their columns are what the embedded
-- stores keep today; each store's own migration will refine them.
CREATE TABLE access_keys (
    access_key_id text PRIMARY KEY,
    secret_sealed bytea NOT NULL,
    role          text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    disabled_at   timestamptz
);
CREATE TABLE secret_records (
    path       text NOT NULL,
    version    integer NOT NULL,
    sealed     bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz,
    PRIMARY KEY (path, version)
);
CREATE TABLE alarms (
    name         text PRIMARY KEY,
    definition   jsonb NOT NULL,
    state        text NOT NULL DEFAULT 'INSUFFICIENT_DATA'
                 CHECK (state IN ('OK', 'ALARM', 'INSUFFICIENT_DATA')),
    state_reason text NOT NULL DEFAULT '',
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE budgets (
    name       text PRIMARY KEY,
    definition jsonb NOT NULL
);
CREATE TABLE budget_spend (
    budget text NOT NULL REFERENCES budgets (name) ON DELETE CASCADE,
    period text NOT NULL,
    amount numeric NOT NULL DEFAULT 0,
    PRIMARY KEY (budget, period)
);
CREATE TABLE metric_rollups (
    metric       text NOT NULL,
    dimensions   text NOT NULL,
    resolution_s integer NOT NULL,
    period_start double precision NOT NULL,
    sample_count bigint NOT NULL,
    total        double precision NOT NULL,
    minimum      double precision NOT NULL,
    maximum      double precision NOT NULL,
    PRIMARY KEY (metric, dimensions, resolution_s, period_start)
);
CREATE TABLE sqs_queues (
    name       text PRIMARY KEY,
    attributes jsonb NOT NULL,
    created_at double precision NOT NULL
);
CREATE TABLE sqs_messages (
    queue          text NOT NULL REFERENCES sqs_queues (name) ON DELETE CASCADE,
    message_id     text NOT NULL,
    seq            bigint GENERATED ALWAYS AS IDENTITY,
    body           text NOT NULL,
    attributes     jsonb NOT NULL,
    sent_at        double precision NOT NULL,
    visible_at     double precision NOT NULL,
    receive_count  integer NOT NULL DEFAULT 0,
    receipt_handle text,
    group_id       text,
    dedup_id       text,
    PRIMARY KEY (queue, message_id)
);
CREATE INDEX sqs_messages_visible ON sqs_messages (queue, visible_at, seq);
