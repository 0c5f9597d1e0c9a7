//! Event histories for the metrics tests, written straight into the
//! database: cases (copies of one filed case, with their own id, number,
//! place, category and petitioner), their events at chosen past times, and
//! ratings rows with their events. The server's follower then counts them
//! from the log as it counts what requests write, so a test checks the
//! whole way from the log to the figure. Requests cannot backdate events;
//! these can.
//!
//! `city_year` builds a synthetic city-year whose rates are known by
//! construction and equal the seed city's reported figures.

use anyhow::{Context, Result};
use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Jsonb, Uuid as SqlUuid};
use serde_json::{Value, json};
use uuid::Uuid;

/// County A's township, county A, county B.
pub const TOWNSHIP_A: &str = "360700/360702/360702001";
pub const COUNTY_B: &str = "360700/360731";

/// One event of a history.
#[derive(Debug, Clone)]
pub struct Ev {
    pub event_type: i16,
    pub at: DateTime<Utc>,
    pub payload: Value,
}

/// A case and its events, oldest first.
#[derive(Debug, Clone)]
pub struct History {
    pub id: Uuid,
    pub region_path: String,
    pub category_code: String,
    pub channel: i16,
    pub events: Vec<Ev>,
}

/// Beijing noon of `day` plus `hours`.
pub fn at(day: NaiveDate, hours: i64) -> DateTime<Utc> {
    let noon = day.and_hms_opt(12, 0, 0).unwrap_or_default();
    chrono::FixedOffset::east_opt(8 * 3600)
        .and_then(|tz| tz.from_local_datetime(&noon).single())
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default()
        + Duration::hours(hours)
}

pub fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
}

impl History {
    /// A case filed on `day` (its id a UUIDv7 of that time, so ids keep
    /// filing order as the server's do).
    pub fn filed(day: NaiveDate, region_path: &str) -> History {
        let when = at(day, 0);
        let ts = uuid::Timestamp::from_unix(uuid::NoContext, when.timestamp() as u64, when.timestamp_subsec_nanos());
        History {
            id: Uuid::new_v7(ts),
            region_path: region_path.into(),
            category_code: "housing".into(),
            channel: 1,
            events: vec![Ev {
                event_type: 1,
                at: when,
                payload: json!({"type": "registered", "registered_on": day.to_string()}),
            }],
        }
    }

    fn push(mut self, event_type: i16, at: DateTime<Utc>, payload: Value) -> History {
        self.events.push(Ev { event_type, at, payload });
        self
    }

    /// Linked at filing as a repeat of `of`.
    pub fn repeat_of(self, of: Uuid, escalated: bool) -> History {
        let when = self.events[0].at;
        self.push(19, when, json!({"type": "repeat_linked", "of": of, "escalated": escalated, "score_permille": 900}))
    }

    /// Routed to `organization` on `day`, to accept by `accept_by`.
    pub fn routed(self, day: NaiveDate, organization: &str, accept_by: NaiveDate) -> History {
        self.push(
            4,
            at(day, 0),
            json!({"type": "routed", "organization_id": organization, "accept_by": accept_by.to_string()}),
        )
    }

    pub fn accepted(self, day: NaiveDate, reply_by: NaiveDate) -> History {
        self.push(
            6,
            at(day, 0),
            json!({"type": "accepted", "accepted_on": day.to_string(), "reply_by": reply_by.to_string()}),
        )
    }

    pub fn extended(self, day: NaiveDate, reply_by: NaiveDate) -> History {
        self.push(9, at(day, 0), json!({"type": "deadline_extended", "days": 30, "reply_by": reply_by.to_string()}))
    }

    /// The opinion served on `day`, recorded the same day.
    pub fn replied(self, day: NaiveDate) -> History {
        self.push(10, at(day, 0), json!({"type": "replied", "opinion": {"served_at": at(day, -1)}}))
    }

    pub fn review_requested(self, day: NaiveDate) -> History {
        self.push(12, at(day, 0), json!({"type": "review_requested"}))
    }

    pub fn review_replied(self, day: NaiveDate) -> History {
        self.push(13, at(day, 0), json!({"type": "review_replied", "opinion": {"served_at": at(day, -1)}}))
    }

    pub fn withdrawn(self, day: NaiveDate) -> History {
        self.push(18, at(day, 0), json!({"type": "withdrawn"}))
    }

    pub fn unlinked(self, day: NaiveDate) -> History {
        self.push(20, at(day, 0), json!({"type": "repeat_unlinked"}))
    }

    /// The day of its first event of `event_type`.
    pub fn day_of(&self, event_type: i16) -> Option<NaiveDate> {
        self.events.iter().find(|e| e.event_type == event_type).map(|e| (e.at + Duration::hours(8)).date_naive())
    }
}

/// A ratings row (the ratings branch's table, migration 000021).
#[derive(Debug, Clone)]
pub struct Rating {
    pub case_id: Uuid,
    pub round: i16,
    pub region_path: String,
    pub served: NaiveDate,
    pub rate_by: NaiveDate,
    /// (rated on, handling: 1 satisfied, 2 basically, 3 dissatisfied).
    pub rated: Option<(NaiveDate, i16)>,
}

/// Writes `histories` (only their events up to `until`, if given) as
/// copies of the case `template`; cases already written get only their
/// events not yet written.
pub fn write(
    conn: &mut PgConnection,
    template: Uuid,
    petitioner: Uuid,
    histories: &[History],
    until: Option<DateTime<Utc>>,
) -> Result<()> {
    let cases: Vec<Value> = histories
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let code = h.region_path.rsplit('/').next().unwrap_or("");
            json!({
                "id": h.id,
                // Numbers from 900000 up: the server's own start at 1.
                "number": format!("{code}-{}-{:06}", (h.events[0].at + Duration::hours(8)).year(), 900_000 + i),
                "region_code": h.region_path.rsplit('/').next().unwrap_or(""),
                "region_path": h.region_path,
                "category_code": h.category_code,
                "channel": h.channel,
                "petitioner_id": petitioner,
                "created_at": h.events[0].at,
                "repeat_of": null,
                "merged_into": null,
            })
        })
        .collect();
    diesel::sql_query(
        "INSERT INTO cases SELECT (jsonb_populate_record(c, o)).* FROM cases c, jsonb_array_elements($2) o
         WHERE c.id = $1 ON CONFLICT (id) DO NOTHING",
    )
    .bind::<SqlUuid, _>(template)
    .bind::<Jsonb, _>(Value::Array(cases))
    .execute(conn)
    .context("copying the template case")?;
    let mut events: Vec<Value> = Vec::new();
    for h in histories {
        for (i, e) in h.events.iter().enumerate() {
            if until.is_some_and(|u| e.at >= u) {
                continue;
            }
            events.push(json!({
                "aggregate_id": h.id,
                "sequence": i + 1,
                "event_type": e.event_type,
                "occurred_at": e.at,
                "payload": e.payload,
            }));
        }
    }
    for chunk in events.chunks(20_000) {
        diesel::sql_query(
            "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, occurred_at, state, payload, idx)
             SELECT 1, x.aggregate_id, x.sequence, x.event_type, x.occurred_at, 1, x.payload,
                    (row_number() OVER () - 1)::smallint
             FROM jsonb_to_recordset($1) AS x(aggregate_id uuid, sequence int, event_type smallint,
                                              occurred_at timestamptz, payload jsonb)
             ON CONFLICT (aggregate_id, sequence) DO NOTHING",
        )
        .bind::<Jsonb, _>(Value::Array(chunk.to_vec()))
        .execute(conn)
        .context("writing the events")?;
    }
    Ok(())
}

/// Writes ratings rows handled by `organization` (a row written before
/// takes the rating given since), each with an event in the log as the
/// rating service records.
pub fn write_ratings(conn: &mut PgConnection, organization: Uuid, ratings: &[Rating]) -> Result<()> {
    let rows: Vec<Value> = ratings
        .iter()
        .map(|r| {
            json!({
                "case_id": r.case_id,
                "round": r.round,
                "region_path": r.region_path,
                "served_at": at(r.served, -1),
                "rate_by": r.rate_by.to_string(),
                "rated_at": r.rated.map(|(d, _)| at(d, 0)),
                "handling": r.rated.map(|(_, h)| h),
                "acceptance": r.rated.map(|_| 1),
            })
        })
        .collect();
    #[derive(QueryableByName)]
    struct Written {
        #[diesel(sql_type = SqlUuid)]
        id: Uuid,
    }
    let written = diesel::sql_query(
        "INSERT INTO ratings (id, case_id, round, region_path, category_code, served_at, rate_by,
                              handling_organization_id, rated_at, acceptance, handling, channel,
                              region_code, case_number, petitioner_id, lifecycle, last_sequence, created_at,
                              updated_at)
         SELECT gen_random_uuid(), x.case_id, x.round, x.region_path, 'housing', x.served_at, x.rate_by, $2,
                x.rated_at, x.acceptance, x.handling, CASE WHEN x.rated_at IS NOT NULL THEN 1 END,
                c.region_code, c.number, c.petitioner_id, '{}'::jsonb, 1, x.served_at,
                coalesce(x.rated_at, x.served_at)
         FROM jsonb_to_recordset($1) AS x(case_id uuid, round smallint, region_path text, served_at timestamptz,
                                          rate_by date, rated_at timestamptz, acceptance smallint, handling smallint)
         JOIN cases c ON c.id = x.case_id
         ON CONFLICT (case_id, round) DO UPDATE
             SET rated_at = excluded.rated_at, acceptance = excluded.acceptance, handling = excluded.handling,
                 channel = excluded.channel
         RETURNING id",
    )
    .bind::<Jsonb, _>(Value::Array(rows))
    .bind::<SqlUuid, _>(organization)
    .load::<Written>(conn)
    .context("writing the ratings")?;
    let ids: Vec<Uuid> = written.into_iter().map(|w| w.id).collect();
    diesel::sql_query(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, occurred_at, state, payload, idx)
         SELECT 5, r.id, COALESCE((SELECT max(e.sequence) FROM events e WHERE e.aggregate_id = r.id), 0) + 1, 2,
                now(), 2, '{}'::jsonb, (row_number() OVER () - 1)::smallint
         FROM ratings r WHERE r.id = ANY($1)",
    )
    .bind::<diesel::sql_types::Array<SqlUuid>, _>(ids)
    .execute(conn)
    .context("logging the ratings")?;
    Ok(())
}

/// The synthetic city-year `year` and the year before, with the counts
/// its figures are built from.
pub struct CityYear {
    pub year: i32,
    pub histories: Vec<History>,
    pub ratings: Vec<Rating>,
}

/// What the seed city reports, and how this city-year makes each exact:
///
/// | figure | numerator / denominator | value |
/// |---|---|---|
/// | filings | 298 (418 the year before) | −28.71% |
/// | repeat rate | 82 / 298 | 27.52% |
/// | completion (v1 and v2: none withdrawn) | 163 / 171 accepted | 95.32% |
/// | on-time completion | 145 / 145 replied in the year | 100.00% |
/// | cessation | 138 / 145 (4 reviews, 3 repeats within 90 days) | 95.17% |
/// | satisfaction | 129 / 132 rated (of 149 windows) | 97.73% |
/// | timely acceptance | 168 / 171 | 98.25% |
///
/// Cases alternate between county A's township and county B; unit
/// `unit` handles them all.
pub fn city_year(year: i32, unit: &str) -> CityYear {
    let day = |y: i32, n: i64| ymd(y, 1, 1) + Duration::days(n);
    let place = |i: usize| if i.is_multiple_of(2) { TOWNSHIP_A } else { COUNTY_B };
    let mut histories = Vec::new();
    // The year before: 418 filings, nothing else.
    let last_year: Vec<History> = (0..418).map(|i| History::filed(day(year - 1, (i % 365) as i64), place(i))).collect();
    // 145 replied within the year (filed January to May, accepted three
    // days later, replied 30 days after acceptance, all on time; five only
    // thanks to an extension).
    let mut replied: Vec<History> = Vec::new();
    for i in 0..145usize {
        let filed = day(year, (i % 150) as i64);
        let accepted = filed + Duration::days(3);
        let reply_by = if i < 5 { accepted + Duration::days(10) } else { accepted + Duration::days(60) };
        let mut h = History::filed(filed, place(i)).routed(filed + Duration::days(1), unit, filed + Duration::days(16));
        h = h.accepted(accepted, reply_by);
        if i < 5 {
            h = h.extended(accepted + Duration::days(5), accepted + Duration::days(40));
        }
        h = h.replied(accepted + Duration::days(30));
        let reply = accepted + Duration::days(30);
        // 4 ask for review 20 days after the reply (within the window);
        // one more asks 100 days after (outside it: still ceased).
        if (5..9).contains(&i) {
            h = h.review_requested(reply + Duration::days(20)).review_replied(reply + Duration::days(40));
        }
        if i == 9 {
            h = h.review_requested(reply + Duration::days(100));
        }
        replied.push(h);
    }
    // 3 of the replied (10, 11, 12) are petitioned again 30 days after the
    // reply: repeats within the cessation window.
    let repeats_now: Vec<History> = (10..13usize)
        .map(|i| {
            let again = replied[i].day_of(10).unwrap_or_default() + Duration::days(30);
            History::filed(again, place(i)).repeat_of(replied[i].id, false)
        })
        .collect();
    // 18 accepted in November and replied the next January: completed, but
    // replied outside the year.
    let late: Vec<History> = (0..18usize)
        .map(|i| {
            let filed = ymd(year, 11, 1) + Duration::days(i as i64);
            History::filed(filed, place(i))
                .routed(filed, unit, filed + Duration::days(15))
                .accepted(filed + Duration::days(2), filed + Duration::days(62))
                .replied(ymd(year + 1, 1, 10) + Duration::days(i as i64))
        })
        .collect();
    // 8 accepted and still open; 3 of them accepted after the limit.
    let open: Vec<History> = (0..8usize)
        .map(|i| {
            let filed = day(year, 200 + i as i64);
            let accept_on = if i < 3 { filed + Duration::days(20) } else { filed + Duration::days(4) };
            History::filed(filed, place(i))
                .routed(filed, unit, filed + Duration::days(15))
                .accepted(accept_on, accept_on + Duration::days(60))
        })
        .collect();
    // 45 filed and never accepted (one withdrawn).
    let unaccepted: Vec<History> = (0..45usize)
        .map(|i| {
            let h = History::filed(day(year, 150 + i as i64), place(i));
            if i == 0 { h.withdrawn(day(year, 160)) } else { h }
        })
        .collect();
    // 79 repeats of last year's cases (10 escalated).
    let repeats_old: Vec<History> = (0..79usize)
        .map(|i| History::filed(day(year, (i * 4) as i64 + 1), place(i)).repeat_of(last_year[i].id, i < 10))
        .collect();
    // Ratings: one window per opinion served (145 replies and 4 review
    // replies in the year, 18 replies the next year); 132 of the year's
    // rated, 3 of those dissatisfied.
    let mut ratings = Vec::new();
    let rating = |h: &History, round: i16, served: NaiveDate, n: usize| Rating {
        case_id: h.id,
        round,
        region_path: h.region_path.clone(),
        served,
        rate_by: served + Duration::days(10),
        rated: (n < 132).then(|| {
            (
                served + Duration::days(3),
                if n < 3 {
                    3
                } else if n.is_multiple_of(4) {
                    2
                } else {
                    1
                },
            )
        }),
    };
    let mut n = 0;
    for h in &replied {
        ratings.push(rating(h, 1, h.day_of(10).unwrap_or_default(), n));
        n += 1;
        if let Some(reviewed) = h.day_of(13) {
            ratings.push(rating(h, 2, reviewed, n));
            n += 1;
        }
    }
    for h in &late {
        ratings.push(rating(h, 1, h.day_of(10).unwrap_or_default(), 0));
    }
    histories.extend(last_year);
    histories.extend(replied);
    histories.extend(repeats_now);
    histories.extend(late);
    histories.extend(open);
    histories.extend(unaccepted);
    histories.extend(repeats_old);
    CityYear { year, histories, ratings }
}

/// The year of the synthetic city-year: last year (all its windows close
/// before today).
pub fn last_year() -> i32 {
    Utc::now().year() - 1
}
