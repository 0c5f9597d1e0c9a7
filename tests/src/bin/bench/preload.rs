//! Preloads many realistic cases in a few big SQL statements.
//!
//! Real cases filed and moved through the API (one per region group and
//! state: REGISTERED, ROUTED, ACCEPTED, REPLIED, DECLINED) are the
//! templates: their `lifecycle` JSON, their events and the projected
//! columns (state, track, handling organization, due date…) are copied, so
//! the server reads every preloaded case exactly like one it stored itself.
//! The dates inside the JSON (registered_on, deadlines, the served opinion)
//! are shifted in Rust to the preloaded case's filing day, once per
//! template and day (`bench_json`); the rest happens in PostgreSQL:
//!
//! - filing times spread uniformly over the last 365 days; ids are built
//!   from them as UUIDv7 (48-bit millisecond timestamp, version 7, random
//!   bits), so `ORDER BY id` follows `created_at` as for real filings, and
//!   rows are inserted in id order (the heap is in filing order, as it
//!   would be after a year of appends);
//! - the state depends on the age: the last 30 days mostly REGISTERED,
//!   ROUTED or ACCEPTED; 30–90 days mostly ACCEPTED or REPLIED; older ones
//!   mostly REPLIED; about 5% DECLINED throughout;
//! - region: 35% county A's township, 35% county A, 30% county B (routed
//!   to that county's unit); petitioner uniform over the benchmark
//!   citizens; 70% filed online by the citizen, the rest letters, phone
//!   calls and visits registered by the county bureau's clerk; 80% claims,
//!   20% suggestions; 60% housing, 40% labor; 30% with a photo attached;
//! - title: a place and a matter; content: 2–12 sentences of realistic
//!   petition text (about 50–500 characters); requests; facts and reasons;
//! - or, with [`Texts::Given`] (`bench dedup`), the texts, petitioners,
//!   regions, categories and kinds given, one per case: the k-th given case
//!   is the k-th filed (times still uniform over the year, in the given
//!   order), and its petitioner one of as many accounts cloned in SQL from
//!   the first benchmark citizen (their phone and resident-id indexes made
//!   unique: they never sign in);
//! - numbers: `region-year-NNNNNN`, consecutive per region and year in
//!   filing order after those already handed out; the region's sequence
//!   of numbers is raised to the highest.
//!
//! Then `VACUUM (ANALYZE)` (autovacuum may be off on the test server, and a
//! bulk load leaves hint bits and the visibility map to set) and a
//! `CHECKPOINT`, so that neither lands in a measured phase.

use std::time::Instant;

use anyhow::{Context, Result, bail};
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use diesel::sql_types::{Array, BigInt, Integer, SmallInt, Text};
use diesel::{Connection, PgConnection, QueryableByName, RunQueryDsl, sql_query};
use uuid::Uuid;

use crate::text::{FACTS, PLACES, REQUESTS, SENTENCES, TITLES};

/// Template states, in the order of the templates within a region group.
pub const TEMPLATE_STATES: [&str; 5] = ["REGISTERED", "ROUTED", "ACCEPTED", "REPLIED", "DECLINED"];
/// The oldest preloaded filing, in days before today.
const MAX_DAYS_AGO: i64 = 366;
/// Template documents sent per statement.
const JSON_BATCH: usize = 2000;

/// A region where preloaded cases arise, and who registers them there.
pub struct RegionGroup {
    pub code: String,
    /// The clerk of the county's bureau (registers non-online filings).
    pub clerk: Uuid,
    pub bureau: Uuid,
}

/// Everything the preload needs from the API.
pub struct Sources {
    pub citizens: Vec<Uuid>,
    pub regions: Vec<RegionGroup>,
    /// One case per (region group, template state), region-major.
    pub templates: Vec<Uuid>,
}

/// Where the preloaded cases' texts and petitioners come from.
pub enum Texts {
    /// `count` cases of random sentences of the benchmark corpus
    /// (`text.rs`), petitioners uniform over the benchmark citizens.
    Random { count: u32 },
    /// These cases, in filing order.
    Given(GivenTexts),
}

/// Cases given one by one (see [`Texts::Given`]).
pub struct GivenTexts {
    pub cases: Vec<GivenCase>,
    /// Petitioner accounts to clone (each case names one by index).
    pub petitioners: usize,
}

/// One given case.
pub struct GivenCase {
    /// Index into [`Sources::regions`].
    pub region: usize,
    /// Index of its petitioner among the cloned accounts.
    pub petitioner: usize,
    pub category_code: &'static str,
    /// `petition.v1.CaseKind`.
    pub kind: i16,
    pub title: String,
    pub content: String,
    pub requests: String,
}

/// What the preload did.
pub struct Preloaded {
    /// Ids of the preloaded cases (not the templates): in id order, or for
    /// [`Texts::Given`] in the order given.
    pub ids: Vec<Uuid>,
    /// The petitioners' accounts: the benchmark citizens, or for
    /// [`Texts::Given`] the cloned accounts in the order of their indexes.
    pub people: Vec<Uuid>,
    pub insert_seconds: f64,
    pub vacuum_seconds: f64,
    pub checkpoint_seconds: f64,
    pub cases: i64,
    pub events: i64,
    pub cases_size: TableSize,
    pub events_size: TableSize,
    /// State name → number of cases, over the whole table.
    pub states: Vec<(String, i64)>,
    pub distinct_numbers_ok: bool,
    pub autovacuum: String,
}

/// Bytes of a table: all of it, and its parts.
#[derive(Debug, Clone, Copy, QueryableByName)]
pub struct TableSize {
    #[diesel(sql_type = BigInt)]
    pub total: i64,
    #[diesel(sql_type = BigInt)]
    pub heap: i64,
    #[diesel(sql_type = BigInt)]
    pub toast: i64,
    #[diesel(sql_type = BigInt)]
    pub indexes: i64,
}

#[derive(QueryableByName)]
struct TemplateDoc {
    #[diesel(sql_type = Integer)]
    t: i32,
    #[diesel(sql_type = Integer)]
    sequence: i32,
    #[diesel(sql_type = Text)]
    doc: String,
}

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    id: Uuid,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct EventXids {
    #[diesel(sql_type = BigInt)]
    first: i64,
    #[diesel(sql_type = BigInt)]
    limit: i64,
}

#[derive(QueryableByName)]
struct StateCount {
    #[diesel(sql_type = diesel::sql_types::SmallInt)]
    state: i16,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct Setting {
    #[diesel(sql_type = Text)]
    value: String,
}

/// Shifts every date (`YYYY-MM-DD`) and RFC 3339 time inside `value` back by `days`.
fn shift_dates(value: &mut serde_json::Value, days: i64) {
    match value {
        serde_json::Value::String(s) => {
            if s.len() == 10
                && let Ok(date) = NaiveDate::parse_from_str(s, "%Y-%m-%d")
            {
                *s = (date - chrono::Duration::days(days)).format("%Y-%m-%d").to_string();
            } else if s.len() >= 20
                && let Ok(time) = DateTime::parse_from_rfc3339(s)
            {
                let shifted = time.with_timezone(&Utc) - chrono::Duration::days(days);
                *s = shifted.to_rfc3339_opts(SecondsFormat::AutoSi, true);
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(|item| shift_dates(item, days)),
        serde_json::Value::Object(map) => map.values_mut().for_each(|item| shift_dates(item, days)),
        _ => {}
    }
}

fn count_of(conn: &mut PgConnection, query: &str) -> Result<i64> {
    Ok(sql_query(query).get_result::<Count>(conn)?.n)
}

pub fn table_size(conn: &mut PgConnection, table: &str) -> Result<TableSize> {
    Ok(sql_query(
        "SELECT pg_total_relation_size(c.oid) AS total, pg_relation_size(c.oid) AS heap, \
                coalesce(pg_total_relation_size(nullif(c.reltoastrelid, 0)), 0) AS toast, \
                pg_indexes_size(c.oid) AS indexes \
         FROM pg_class c WHERE c.oid = $1::regclass",
    )
    .bind::<Text, _>(table)
    .get_result(conn)?)
}

/// The templates' lifecycles (sequence 0) and event payloads, shifted to
/// every day of the preloaded year, into `bench_json`.
fn load_template_docs(conn: &mut PgConnection) -> Result<usize> {
    let docs: Vec<TemplateDoc> = sql_query(
        "SELECT t.t, 0 AS sequence, c.lifecycle::text AS doc FROM bench_template t JOIN cases c ON c.id = t.id \
         UNION ALL \
         SELECT t.t, e.sequence, e.payload::text FROM bench_template t JOIN events e ON e.aggregate_id = t.id",
    )
    .load(conn)?;
    let mut sent = 0;
    let (mut ts, mut sequences, mut days, mut texts) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut flush = |ts: &mut Vec<i32>, sequences: &mut Vec<i32>, days: &mut Vec<i32>, texts: &mut Vec<String>| {
        let n = sql_query(
            "INSERT INTO bench_json (t, sequence, days_ago, doc) \
             SELECT t, s, d, doc::jsonb FROM unnest($1::int[], $2::int[], $3::int[], $4::text[]) AS u(t, s, d, doc)",
        )
        .bind::<Array<Integer>, _>(std::mem::take(ts))
        .bind::<Array<Integer>, _>(std::mem::take(sequences))
        .bind::<Array<Integer>, _>(std::mem::take(days))
        .bind::<Array<Text>, _>(std::mem::take(texts))
        .execute(conn)?;
        anyhow::Ok(n)
    };
    for doc in &docs {
        let value: serde_json::Value = serde_json::from_str(&doc.doc).context("a template document")?;
        for days_ago in 0..=MAX_DAYS_AGO {
            let mut shifted = value.clone();
            shift_dates(&mut shifted, days_ago);
            ts.push(doc.t);
            sequences.push(doc.sequence);
            days.push(days_ago as i32);
            texts.push(shifted.to_string());
            if texts.len() >= JSON_BATCH {
                sent += flush(&mut ts, &mut sequences, &mut days, &mut texts)?;
            }
        }
    }
    if !texts.is_empty() {
        sent += flush(&mut ts, &mut sequences, &mut days, &mut texts)?;
    }
    Ok(sent)
}

/// The drawn attributes of `$1` random cases (see [`PLAN`]).
const RAW_RANDOM: &str = "
drawn AS (
    SELECT n,
           (extract(epoch FROM now()) * 1000)::bigint - 600000 - floor(random() * 31536000000)::bigint AS ms,
           random() AS r_region, random() AS r_state, random() AS r_channel, random() AS r_kind,
           random() AS r_category, floor(random() * $2)::int AS person,
           1 + floor(random() * 11)::int AS sentences, random() < 0.3 AS with_photo
    FROM generate_series(1, $1) AS n
), raw AS (
    SELECT n, ms, CASE WHEN r_region < 0.35 THEN 0 WHEN r_region < 0.70 THEN 1 ELSE 2 END AS g, r_state, r_channel,
           (CASE WHEN r_kind < 0.8 THEN 3 ELSE 1 END)::smallint AS kind,
           CASE WHEN r_category < 0.6 THEN 'housing' ELSE 'labor' END AS category_code,
           person, sentences, with_photo
    FROM drawn
)";

/// The attributes of the `$1` given cases in `bench_text` (see [`PLAN`]):
/// the k-th in the k-th slot of the year.
const RAW_GIVEN: &str = "
raw AS (
    SELECT t.k AS n,
           (extract(epoch FROM now()) * 1000)::bigint - 600000
               - floor(($1 - t.k + random()) * (31536000000::float8 / $1))::bigint AS ms,
           t.g, random() AS r_state, random() AS r_channel, t.kind, t.category_code, t.person,
           0 AS sentences, random() < 0.3 AS with_photo
    FROM bench_text t
)";

/// The plan of every preloaded case: id, time, region, template, people,
/// number. `/*RAW*/` is [`RAW_RANDOM`] or [`RAW_GIVEN`]: the CTE `raw` of
/// (n, ms, g, r_state, r_channel, kind, category_code, person, sentences, with_photo).
const PLAN: &str = "
CREATE TEMP TABLE bench_plan AS
WITH /*RAW*/, timed AS (
    SELECT raw.*, timestamptz 'epoch' + ms * interval '1 millisecond' AS created_at,
           CASE WHEN r_channel < 0.70 THEN 1 WHEN r_channel < 0.82 THEN 2 WHEN r_channel < 0.88 THEN 3 ELSE 5 END
               AS channel
    FROM raw
), dated AS (
    SELECT timed.*, (created_at AT TIME ZONE 'Asia/Shanghai')::date AS created_on,
           (now() AT TIME ZONE 'Asia/Shanghai')::date - (created_at AT TIME ZONE 'Asia/Shanghai')::date AS days_ago
    FROM timed
), staged AS (
    -- Template index within the region group: 0 REGISTERED, 1 ROUTED,
    -- 2 ACCEPTED, 3 REPLIED, 4 DECLINED.
    SELECT dated.*,
           CASE WHEN days_ago < 30 THEN
                    CASE WHEN r_state < 0.30 THEN 0 WHEN r_state < 0.60 THEN 1 WHEN r_state < 0.95 THEN 2 ELSE 4 END
                WHEN days_ago < 90 THEN
                    CASE WHEN r_state < 0.03 THEN 0 WHEN r_state < 0.10 THEN 1 WHEN r_state < 0.70 THEN 2
                         WHEN r_state < 0.95 THEN 3 ELSE 4 END
                ELSE CASE WHEN r_state < 0.05 THEN 2 WHEN r_state < 0.93 THEN 3 ELSE 4 END
           END AS s
    FROM dated
), identified AS (
    -- UUIDv7: 48-bit Unix milliseconds, version 7, 12 random bits, variant
    -- 10, 62 random bits.
    SELECT staged.*,
           (lpad(to_hex(ms), 12, '0') || '7' || lpad(to_hex(floor(random() * 4096)::int), 3, '0')
            || to_hex(8 + floor(random() * 4)::int) || lpad(to_hex(floor(random() * 4096)::int), 3, '0')
            || lpad(to_hex(floor(random() * 281474976710656)::bigint), 12, '0'))::uuid AS id,
           extract(year FROM created_on)::int AS year
    FROM staged
)
SELECT i.n, i.id, i.g * 5 + i.s + 1 AS t, i.created_at, i.created_on, i.days_ago, i.sentences, i.with_photo,
       r.code AS region_code, r.path AS region_path, i.year, i.kind, i.channel::smallint AS channel,
       i.category_code, c.id AS petitioner_id,
       CASE WHEN i.channel = 1 THEN c.id ELSE r.clerk END AS registered_by,
       CASE WHEN i.channel = 1 THEN NULL ELSE r.bureau END AS registering_organization_id,
       (row_number() OVER w + coalesce(k.last_value, 0))::int AS seq,
       r.code || '-' || i.year || '-' || lpad((row_number() OVER w + coalesce(k.last_value, 0))::text, 6, '0')
           AS number
FROM identified i
JOIN bench_region r ON r.g = i.g
JOIN bench_people c ON c.i = i.person
LEFT JOIN pg_sequences k
    ON k.schemaname = current_schema() AND k.sequencename = 'case_numbers_' || r.code || '_' || i.year
WINDOW w AS (PARTITION BY r.code, i.year ORDER BY i.id)
ORDER BY i.id";

const INSERT_CASES: &str = "
INSERT INTO cases (id, number, kind, channel, state, track, category_code, region_code, region_path, title, content,
    requests, facts_and_reasons, attachments, petitioner_id, group_visit, registered_by, registering_organization_id,
    handling_organization_id, routing_mode, reviewing_organization_id, lifecycle, due_date, extended,
    routed_on_registration, first_routed_at, version, created_at, updated_at, last_sequence)
SELECT p.id, p.number, p.kind, p.channel, t.state, t.track, p.category_code, p.region_code, p.region_path,
    /*TEXTS*/,
    CASE WHEN p.with_photo THEN jsonb_build_array(jsonb_build_object(
        'name', '现场照片.jpg', 'media_type', 'image/jpeg',
        'size_bytes', 200000 + floor(random() * 3000000)::int,
        'sha256', md5(p.id::text) || md5(p.number))) ELSE '[]'::jsonb END,
    p.petitioner_id, NULL, p.registered_by, p.registering_organization_id,
    t.handling_organization_id, t.routing_mode, t.reviewing_organization_id, j.doc,
    p.created_on + t.due_in_days, t.extended, t.routed_on_registration, p.created_at + t.routed_after, t.version,
    p.created_at, p.created_at + t.updated_after, t.last_sequence
FROM bench_plan p
JOIN bench_template t ON t.t = p.t
JOIN bench_json j ON j.t = p.t AND j.sequence = 0 AND j.days_ago = p.days_ago
/*TEXT_SOURCE*/
ORDER BY p.id";

/// Title, content, requests, facts and reasons of a random case (see [`INSERT_CASES`]).
const TEXTS_RANDOM: &str = "
    w.places[1 + floor(random() * cardinality(w.places))::int]
        || w.titles[1 + floor(random() * cardinality(w.titles))::int],
    -- The corpus is joined again inside: an aggregate over outer columns
    -- only would belong to the outer query.
    left((SELECT string_agg(s.sentences[1 + floor(random() * cardinality(s.sentences))::int], '')
          FROM generate_series(0, p.sentences) CROSS JOIN bench_corpus s), 500),
    w.requests[1 + floor(random() * cardinality(w.requests))::int],
    (SELECT string_agg(s.facts[1 + floor(random() * cardinality(s.facts))::int], '')
     FROM generate_series(0, p.sentences % 3) CROSS JOIN bench_corpus s)";
const TEXT_SOURCE_RANDOM: &str = "CROSS JOIN bench_corpus w";
/// The same of a given case.
const TEXTS_GIVEN: &str = "x.title, x.content, x.requests, ''";
const TEXT_SOURCE_GIVEN: &str = "JOIN bench_text x ON x.k = p.n";

/// Given cases sent per statement.
const TEXT_BATCH: usize = 5000;

/// Clones the citizen `$1` into the accounts of `bench_people`.
const CLONE_PEOPLE: &str = "
INSERT INTO accounts (id, kind, login_name, display_name, resident_id_cipher, resident_id_index, resident_id_masked,
    phone_cipher, phone_index, phone_masked, password_hash, roles, organization_id, scopes, disabled, created_at,
    updated_at)
SELECT p.id, a.kind, NULL, a.display_name, a.resident_id_cipher, decode(md5('resident ' || p.id::text), 'hex'),
    a.resident_id_masked, a.phone_cipher, decode(md5('phone ' || p.id::text), 'hex'), a.phone_masked,
    a.password_hash, a.roles, NULL, a.scopes, FALSE, a.created_at, a.updated_at
FROM bench_people p CROSS JOIN accounts a
WHERE a.id = $1
ORDER BY p.i";

/// The events of the planned cases. Their feed positions are like those of
/// events written before the feed existed (migration 000012): 32,768 to a
/// transaction id, from `$1`, below every stored event (the templates').
const INSERT_EVENTS: &str = "
INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, actor_id, occurred_at, state, payload, xid, idx)
SELECT 1, id, sequence, event_type, actor_id, occurred_at, state, doc, $1 + n / 32768, (n % 32768)::smallint
FROM (
    SELECT p.id, e.sequence, e.event_type, CASE WHEN e.by_registrant THEN p.registered_by ELSE e.actor_id END AS actor_id,
           p.created_at + e.after AS occurred_at, e.state, j.doc,
           row_number() OVER (ORDER BY p.id, e.sequence) - 1 AS n
    FROM bench_plan p
    JOIN bench_event e ON e.t = p.t
    JOIN bench_json j ON j.t = p.t AND j.sequence = e.sequence AND j.days_ago = p.days_ago
) planned
ORDER BY n";

/// The first transaction id the preloaded events may use, and the first
/// they may not: the oldest stored event's (the templates', filed just
/// before), or this transaction's own.
const EVENT_XIDS: &str = "SELECT 1::bigint AS first, coalesce(min(xid), feed_xid()) AS limit FROM events";

const RAISE_COUNTERS: &str = "
SELECT setval(case_number_sequence(region_code, year), max(seq)) FROM bench_plan GROUP BY region_code, year";

/// Sends the given cases to `bench_text`, a batch per statement.
fn load_given_texts(conn: &mut PgConnection, given: &GivenTexts) -> Result<()> {
    sql_query(
        "CREATE TEMP TABLE bench_text (k int PRIMARY KEY, g int NOT NULL, person int NOT NULL,          category_code text NOT NULL, kind smallint NOT NULL, title text NOT NULL, content text NOT NULL,          requests text NOT NULL) ON COMMIT DROP",
    )
    .execute(conn)?;
    for (batch, cases) in given.cases.chunks(TEXT_BATCH).enumerate() {
        let first = batch * TEXT_BATCH + 1;
        let ks: Vec<i32> = (0..cases.len()).map(|i| (first + i) as i32).collect();
        let gs: Vec<i32> = cases.iter().map(|c| c.region as i32).collect();
        let people: Vec<i32> = cases.iter().map(|c| c.petitioner as i32).collect();
        let categories: Vec<&str> = cases.iter().map(|c| c.category_code).collect();
        let kinds: Vec<i16> = cases.iter().map(|c| c.kind).collect();
        let titles: Vec<&str> = cases.iter().map(|c| c.title.as_str()).collect();
        let contents: Vec<&str> = cases.iter().map(|c| c.content.as_str()).collect();
        let requests: Vec<&str> = cases.iter().map(|c| c.requests.as_str()).collect();
        sql_query(
            "INSERT INTO bench_text SELECT * FROM unnest($1::int[], $2::int[], $3::int[], $4::text[],              $5::smallint[], $6::text[], $7::text[], $8::text[])",
        )
        .bind::<Array<Integer>, _>(ks)
        .bind::<Array<Integer>, _>(gs)
        .bind::<Array<Integer>, _>(people)
        .bind::<Array<Text>, _>(categories)
        .bind::<Array<SmallInt>, _>(kinds)
        .bind::<Array<Text>, _>(titles)
        .bind::<Array<Text>, _>(contents)
        .bind::<Array<Text>, _>(requests)
        .execute(conn)?;
    }
    Ok(())
}

/// Preloads cases with `texts` (see the module docs) over `conn`, a direct
/// connection to the server's database.
pub fn preload(conn: &mut PgConnection, texts: &Texts, sources: &Sources) -> Result<Preloaded> {
    if sources.templates.len() != sources.regions.len() * TEMPLATE_STATES.len() {
        bail!("expected {} templates per region group", TEMPLATE_STATES.len());
    }
    let count = match texts {
        Texts::Random { count } => *count,
        Texts::Given(given) => u32::try_from(given.cases.len()).context("too many given cases")?,
    };
    let started = Instant::now();
    let mut given_ids = Vec::new();
    let mut people = sources.citizens.clone();
    conn.transaction(|conn| -> Result<()> {
        sql_query("CREATE TEMP TABLE bench_people (i int PRIMARY KEY, id uuid NOT NULL) ON COMMIT DROP")
            .execute(conn)?;
        match texts {
            Texts::Random { .. } => {
                sql_query(
                    "INSERT INTO bench_people \
                     SELECT (i - 1)::int, id FROM unnest($1::uuid[]) WITH ORDINALITY AS u(id, i)",
                )
                .bind::<Array<diesel::sql_types::Uuid>, _>(&sources.citizens)
                .execute(conn)?;
            }
            Texts::Given(given) => {
                let template = sources.citizens.first().context("no citizen to clone petitioners from")?;
                sql_query("INSERT INTO bench_people SELECT i, gen_random_uuid() FROM generate_series(0, $1 - 1) AS i")
                    .bind::<Integer, _>(i32::try_from(given.petitioners).context("too many petitioners")?)
                    .execute(conn)?;
                let cloned = sql_query(CLONE_PEOPLE)
                    .bind::<diesel::sql_types::Uuid, _>(template)
                    .execute(conn)
                    .context("cloning the petitioners' accounts")?;
                eprintln!(
                    "  {cloned} petitioner accounts cloned ({:.1}s); sending the texts…",
                    started.elapsed().as_secs_f64()
                );
                load_given_texts(conn, given).context("sending the texts")?;
                people = sql_query("SELECT id FROM bench_people ORDER BY i")
                    .load::<Id>(conn)?
                    .into_iter()
                    .map(|row| row.id)
                    .collect();
                sql_query("ANALYZE bench_text").execute(conn)?;
            }
        }
        sql_query(
            "CREATE TEMP TABLE bench_region (g int PRIMARY KEY, code text, path text, clerk uuid, bureau uuid) \
             ON COMMIT DROP",
        )
        .execute(conn)?;
        let codes: Vec<&str> = sources.regions.iter().map(|r| r.code.as_str()).collect();
        let clerks: Vec<Uuid> = sources.regions.iter().map(|r| r.clerk).collect();
        let bureaus: Vec<Uuid> = sources.regions.iter().map(|r| r.bureau).collect();
        sql_query(
            "INSERT INTO bench_region SELECT (u.g - 1)::int, u.code, r.path, u.clerk, u.bureau \
             FROM unnest($1::text[], $2::uuid[], $3::uuid[]) WITH ORDINALITY AS u(code, clerk, bureau, g) \
             JOIN regions r ON r.code = u.code",
        )
        .bind::<Array<Text>, _>(&codes)
        .bind::<Array<diesel::sql_types::Uuid>, _>(&clerks)
        .bind::<Array<diesel::sql_types::Uuid>, _>(&bureaus)
        .execute(conn)?;
        sql_query(
            "CREATE TEMP TABLE bench_template ON COMMIT DROP AS \
             SELECT array_position($1::uuid[], c.id) AS t, c.id, c.state, c.track, c.handling_organization_id, \
                    c.routing_mode, c.reviewing_organization_id, c.extended, c.routed_on_registration, c.version, \
                    c.last_sequence, \
                    c.due_date - (c.created_at AT TIME ZONE 'Asia/Shanghai')::date AS due_in_days, \
                    c.first_routed_at - c.created_at AS routed_after, c.updated_at - c.created_at AS updated_after \
             FROM cases c WHERE c.id = ANY($1::uuid[])",
        )
        .bind::<Array<diesel::sql_types::Uuid>, _>(&sources.templates)
        .execute(conn)?;
        sql_query(
            "CREATE TEMP TABLE bench_event ON COMMIT DROP AS \
             SELECT t.t, e.sequence, e.event_type, e.actor_id, e.actor_id = c.registered_by AS by_registrant, \
                    e.occurred_at - c.created_at AS after, e.state \
             FROM bench_template t JOIN cases c ON c.id = t.id JOIN events e ON e.aggregate_id = c.id",
        )
        .execute(conn)?;
        sql_query(
            "CREATE TEMP TABLE bench_json (t int, sequence int, days_ago int, doc jsonb NOT NULL, \
             PRIMARY KEY (t, sequence, days_ago)) ON COMMIT DROP",
        )
        .execute(conn)?;
        let docs = load_template_docs(conn)?;
        sql_query(
            "CREATE TEMP TABLE bench_corpus ON COMMIT DROP AS \
             SELECT $1::text[] AS places, $2::text[] AS titles, $3::text[] AS sentences, $4::text[] AS requests, \
                    $5::text[] AS facts",
        )
        .bind::<Array<Text>, _>(PLACES)
        .bind::<Array<Text>, _>(TITLES)
        .bind::<Array<Text>, _>(SENTENCES)
        .bind::<Array<Text>, _>(REQUESTS)
        .bind::<Array<Text>, _>(FACTS)
        .execute(conn)?;
        sql_query("ANALYZE bench_people, bench_region, bench_template, bench_event, bench_json").execute(conn)?;
        eprintln!(
            "  {docs} template documents shifted to every day of the year ({:.1}s); planning {count} cases…",
            started.elapsed().as_secs_f64()
        );
        let (raw, texts_sql, source) = match texts {
            Texts::Random { .. } => (RAW_RANDOM, TEXTS_RANDOM, TEXT_SOURCE_RANDOM),
            Texts::Given(_) => (RAW_GIVEN, TEXTS_GIVEN, TEXT_SOURCE_GIVEN),
        };
        let plan = PLAN.replace("/*RAW*/", raw);
        let planned = sql_query(&plan).bind::<Integer, _>(count as i32);
        match texts {
            Texts::Random { .. } => planned.bind::<Integer, _>(sources.citizens.len() as i32).execute(conn),
            Texts::Given(_) => planned.execute(conn),
        }
        .context("planning the cases")?;
        eprintln!("  inserting cases ({:.1}s)…", started.elapsed().as_secs_f64());
        let insert = INSERT_CASES.replace("/*TEXTS*/", texts_sql).replace("/*TEXT_SOURCE*/", source);
        let cases = sql_query(&insert).execute(conn).context("inserting the cases")?;
        eprintln!("  {cases} cases inserted ({:.1}s); inserting their events…", started.elapsed().as_secs_f64());
        let xids: EventXids = sql_query(EVENT_XIDS).get_result(conn)?;
        let needed: i64 = sql_query("SELECT count(*) AS n FROM bench_plan p JOIN bench_event e ON e.t = p.t")
            .get_result::<Count>(conn)?
            .n
            / 32_768
            + 1;
        if xids.first + needed >= xids.limit {
            anyhow::bail!(
                "the preloaded events need {needed} transaction ids below {}, from {}: run the benchmark on a PostgreSQL \
                 that has run more transactions",
                xids.limit,
                xids.first
            );
        }
        let events =
            sql_query(INSERT_EVENTS).bind::<BigInt, _>(xids.first).execute(conn).context("inserting the events")?;
        eprintln!("  {events} events inserted ({:.1}s)", started.elapsed().as_secs_f64());
        sql_query(RAISE_COUNTERS).execute(conn).context("raising the case counters")?;
        if let Texts::Given(_) = texts {
            given_ids = sql_query("SELECT id FROM bench_plan ORDER BY n").load::<Id>(conn)?;
        }
        Ok(())
    })?;
    let ids: Vec<Uuid> = if let Texts::Given(_) = texts {
        given_ids.into_iter().map(|row| row.id).collect()
    } else {
        // The plan is gone with the transaction; the ids are the cases not among the templates.
        sql_query("SELECT id FROM cases WHERE NOT (id = ANY($1::uuid[])) ORDER BY id")
            .bind::<Array<diesel::sql_types::Uuid>, _>(&sources.templates)
            .load::<Id>(conn)?
            .into_iter()
            .map(|row| row.id)
            .collect()
    };
    let insert_seconds = started.elapsed().as_secs_f64();

    eprintln!("  VACUUM (ANALYZE)…");
    let vacuum_started = Instant::now();
    sql_query("VACUUM (ANALYZE) cases, events, accounts").execute(conn)?;
    let vacuum_seconds = vacuum_started.elapsed().as_secs_f64();
    let checkpoint_started = Instant::now();
    sql_query("CHECKPOINT").execute(conn)?;
    let checkpoint_seconds = checkpoint_started.elapsed().as_secs_f64();

    let names = ["", "REGISTERED", "ROUTED", "ACCEPTED", "DECLINED", "REPLIED", "UNDER_REVIEW", "REVIEWED"];
    let states = sql_query("SELECT state, count(*) AS n FROM cases GROUP BY state ORDER BY state")
        .load::<StateCount>(conn)?
        .into_iter()
        .map(|row| (names.get(row.state as usize).map_or_else(|| row.state.to_string(), |n| (*n).to_owned()), row.n))
        .collect();
    let cases = count_of(conn, "SELECT count(*) AS n FROM cases")?;
    let distinct_numbers = count_of(conn, "SELECT count(DISTINCT number) AS n FROM cases")?;
    Ok(Preloaded {
        ids,
        people,
        insert_seconds,
        vacuum_seconds,
        checkpoint_seconds,
        cases,
        events: count_of(conn, "SELECT count(*) AS n FROM events")?,
        cases_size: table_size(conn, "cases")?,
        events_size: table_size(conn, "events")?,
        states,
        distinct_numbers_ok: distinct_numbers == cases,
        autovacuum: sql_query("SELECT current_setting('autovacuum') AS value").get_result::<Setting>(conn)?.value,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shifting_moves_dates_and_times_but_nothing_else() {
        let mut value = serde_json::json!({
            "registered_on": "2026-11-27",
            "deadlines": {"route_by": "2026-12-12", "reply_by": null},
            "reply": {"served_at": "2026-11-27T11:10:35.123456Z", "facts": "经核查属实"},
            "handling_organization_id": "0193a0c4-1111-7000-8000-000000000000",
        });
        shift_dates(&mut value, 30);
        assert_eq!(value["registered_on"], "2026-10-28");
        assert_eq!(value["deadlines"]["route_by"], "2026-11-12");
        assert_eq!(value["deadlines"]["reply_by"], serde_json::Value::Null);
        assert_eq!(value["reply"]["served_at"], "2026-10-28T11:10:35.123456Z");
        assert_eq!(value["reply"]["facts"], "经核查属实");
        assert_eq!(value["handling_organization_id"], "0193a0c4-1111-7000-8000-000000000000");
    }
}
