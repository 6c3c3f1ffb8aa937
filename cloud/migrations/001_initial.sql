-- hall-cloud's first schema. Never edit a migration that has shipped: add the next number.

-- Every event of every hall, partitioned by month on `time` (when it happened, UTC month
-- boundaries). PostgreSQL wants the partition key in the primary key, so it is
-- (hallid, id, time); `event_ids` below is what makes a duplicate impossible.
CREATE TABLE events (
    hallid text NOT NULL,
    halljournal text NOT NULL,
    id text NOT NULL,
    hallseq bigint NOT NULL,
    type text NOT NULL,
    time timestamptz NOT NULL,
    deviceid text NOT NULL,
    resent boolean NOT NULL,
    data jsonb NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (hallid, id, time)
) PARTITION BY RANGE (time);
-- The last resort for times no month partition is made for (see cloud/partitions.py).
CREATE TABLE events_default PARTITION OF events DEFAULT;
CREATE INDEX events_hall_time ON events (hallid, time);
CREATE INDEX events_hall_type_time ON events (hallid, type, time);
CREATE INDEX events_journal_seq ON events (hallid, halljournal, hallseq);

-- One row per (hallid, id) ever stored, across all partitions: inserted in the same
-- transaction as the event with ON CONFLICT DO NOTHING; only events whose row is new
-- here go into `events`.
CREATE TABLE event_ids (
    hallid text NOT NULL,
    id text NOT NULL,
    PRIMARY KEY (hallid, id)
);

-- Each journal of each hall (a new box or a restored journal is a new one).
CREATE TABLE journals (
    hallid text NOT NULL,
    halljournal text NOT NULL,
    first_seen timestamptz NOT NULL DEFAULT now(),
    first_hallseq bigint,
    max_hallseq bigint,
    last_seen timestamptz NOT NULL DEFAULT now(),
    reused_seqs bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (hallid, halljournal)
);

-- Runs of missing hallseq numbers; closed_at is set when the last of them arrived.
CREATE TABLE gaps (
    gap_id bigserial PRIMARY KEY,
    hallid text NOT NULL,
    halljournal text NOT NULL,
    from_seq bigint NOT NULL,
    to_seq bigint NOT NULL,
    first_seen timestamptz NOT NULL,
    closed_at timestamptz,
    CHECK (from_seq <= to_seq)
);
CREATE INDEX gaps_open ON gaps (hallid, halljournal) WHERE closed_at IS NULL;

CREATE TABLE hall_state (
    hallid text PRIMARY KEY,
    state text NOT NULL,
    version text,
    since timestamptz,
    payload jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE device_state (
    hallid text NOT NULL,
    deviceid text NOT NULL,
    state text NOT NULL,
    since timestamptz,
    payload jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (hallid, deviceid)
);

CREATE TABLE alerts (
    hallid text NOT NULL,
    id text NOT NULL,
    time timestamptz NOT NULL,
    severity text,
    rule text,
    message text,
    subject text,
    data jsonb NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (hallid, id)
);
CREATE INDEX alerts_time ON alerts (time);

CREATE TABLE replies (
    hallid text NOT NULL,
    deviceid text NOT NULL,
    cmd_id text NOT NULL,
    code integer NOT NULL,
    msg text NOT NULL,
    data jsonb NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (hallid, cmd_id)
);

CREATE TABLE dead_letters (
    dead_letter_id bigserial PRIMARY KEY,
    topic text NOT NULL,
    payload bytea NOT NULL,
    reason text NOT NULL,
    detail text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX dead_letters_reason ON dead_letters (reason, received_at);
