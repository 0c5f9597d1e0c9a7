//! `petitionctl` against a real server: sign-in kept 0600, an import killed
//! half-way and run again creates every row exactly once, imports of
//! organizations, staff and calendar years that a rerun leaves alone,
//! directory and calendar writes, a case walked through its life, exports
//! of the case list and of the feed that equal the list and one
//! uninterrupted export, JSON output that parses, and the exit codes.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use petition_sdk::pb;
use petition_tests::*;

const BIN: &str = env!("CARGO_BIN_EXE_petitionctl");

struct Ctl {
    server: String,
    config: PathBuf,
}

impl Ctl {
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(BIN);
        command.args(["--server", &self.server]).args(args).env("PETITIONCTL_CONFIG_DIR", &self.config);
        command.env_remove("PETITION_CLIENT_ID").env_remove("PETITION_CLIENT_SECRET");
        command
    }

    fn run(&self, args: &[&str]) -> Result<Output> {
        Ok(self.command(args).output()?)
    }

    /// `args` with `--output json`, which must succeed and parse.
    fn json(&self, args: &[&str]) -> Result<serde_json::Value> {
        let out = self.run(&[&["--output", "json"], args].concat())?;
        ensure!(out.status.success(), "{args:?}: {:?} {}", out.status.code(), text(&out.stderr));
        serde_json::from_slice(&out.stdout).with_context(|| format!("{args:?}: {}", text(&out.stdout)))
    }

    /// A session of its own under `dir`, signed in as `user`.
    fn signed_in(server: &TestServer, dir: &Path, user: &str, password: &str) -> Result<Ctl> {
        let ctl = Ctl { server: server.url.clone(), config: dir.join(user) };
        let out = ctl.login(user, password)?;
        ensure!(out.status.success(), "login {user}: {}", text(&out.stderr));
        Ok(ctl)
    }

    fn login(&self, user: &str, password: &str) -> Result<Output> {
        let mut child = self
            .command(&["login", "--user", user, "--password-stdin"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        child.stdin.take().context("stdin")?.write_all(password.as_bytes())?;
        Ok(child.wait_with_output()?)
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The owner's cases, all of them.
async fn owned(client: &petition_sdk::Client) -> Result<Vec<pb::Case>> {
    let mut all = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = client
            .cases()
            .list_cases(pb::ListCasesRequest { page_size: 100, page_token: page_token.clone(), ..Default::default() })
            .await?;
        all.extend(page.cases);
        if page.next_page_token.is_empty() {
            return Ok(all);
        }
        page_token = page.next_page_token;
    }
}

fn write_csv(path: &Path, region: &str, rows: usize) -> Result<()> {
    let mut writer = csv::Writer::from_path(path)?;
    writer.write_record(["kind", "category_code", "region_code", "title", "content", "requests"])?;
    for i in 0..rows {
        let title = format!("导入的诉求 {i:04}");
        writer.write_record([
            "CLAIM",
            "housing",
            region,
            &title,
            "小区公共管道漏水三个月无人处理。",
            "请求督促物业维修",
        ])?;
    }
    // A row the server never sees: its kind is not one.
    writer.write_record(["COMPLAINT", "housing", region, "坏的一行", "内容", ""])?;
    writer.flush()?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_killed_half_way_and_run_again_creates_every_row_once() -> Result<()> {
    let server = TestServer::spawn().await?;
    let w = CaseWorld::create(&server).await?;
    let dir = std::env::temp_dir().join(format!("petitionctl-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir)?;
    let ctl = Ctl { server: server.url.clone(), config: dir.join("config") };

    // Not signed in yet: a local error, said on stderr.
    let out = ctl.run(&["whoami"])?;
    assert_eq!(out.status.code(), Some(7), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("not signed in"));

    let (phone, password) = &w.owner_login;
    let out = ctl.login(phone, password)?;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let session = ctl.config.join("session.json");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&session)?.permissions().mode() & 0o777, 0o600);
    }
    let out = ctl.run(&["--output", "json", "whoami"])?;
    let me: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(me[0]["id"], serde_json::Value::String(w.owner_id.clone()));

    // 300 rows and a bad one; killed once a few are in.
    let rows = 300;
    let file = dir.join("cases.csv");
    write_csv(&file, &w.dir.township_a.code, rows)?;
    let mut child = ctl
        .command(&["cases", "import", file.to_str().context("a path")?, "--concurrency", "2"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let deadline = Instant::now() + Duration::from_secs(60);
    let at_kill = loop {
        let n = owned(&w.owner).await?.len();
        if n >= 20 {
            break n;
        }
        ensure!(Instant::now() < deadline, "the import made no progress");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    child.kill()?;
    child.wait()?;
    let after_kill = owned(&w.owner).await?.len();
    assert!(after_kill < rows, "killed half-way: {after_kill} of {rows} in (seen {at_kill})");

    let out = ctl.run(&["--output", "json", "cases", "import", file.to_str().context("a path")?])?;
    // The bad row failed: exit 1, named in the failed-rows file.
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!((summary[0]["imported"].as_u64(), summary[0]["failed"].as_u64()), (Some(rows as u64), Some(1)));
    let failed = std::fs::read_to_string(dir.join("cases.csv.failed.jsonl"))?;
    assert!(failed.contains(&format!("\"row\":{}", rows + 2)) && failed.contains("column kind"), "{failed}");

    // Every row exactly once.
    let cases = owned(&w.owner).await?;
    let mut titles: Vec<&str> = cases.iter().map(|c| c.title.as_str()).collect();
    titles.sort();
    titles.dedup();
    assert_eq!((cases.len(), titles.len()), (rows, rows));

    // And once more: nothing new.
    let out = ctl.run(&["cases", "import", file.to_str().context("a path")?])?;
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(owned(&w.owner).await?.len(), rows);

    // The list exported as CSV is the API's list.
    let out = ctl.run(&["--output", "csv", "cases", "list", "--limit", "1000"])?;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let mut exported: Vec<String> = csv::Reader::from_reader(out.stdout.as_slice())
        .records()
        .map(|r| Ok(r?.get(0).context("an id")?.to_owned()))
        .collect::<Result<_>>()?;
    let mut listed: Vec<String> = cases.iter().map(|c| c.id.clone()).collect();
    exported.sort();
    listed.sort();
    assert_eq!(exported, listed);
    let out = ctl.run(&["--output", "jsonl", "cases", "get", &cases[0].number])?;
    let line: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(line["id"], serde_json::Value::String(cases[0].id.clone()));

    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_and_refusals_have_their_exit_codes() -> Result<()> {
    let server = TestServer::spawn().await?;
    let w = CaseWorld::create(&server).await?;
    let dir = std::env::temp_dir().join(format!("petitionctl-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir)?;
    let ctl = Ctl { server: server.url.clone(), config: dir.join("config") };

    // A wrong password: UNAUTHENTICATED.
    let out = ctl.login(&w.owner_login.0, "not-the-password-at-all")?;
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    let out = ctl.login(&w.owner_login.0, &w.owner_login.1)?;
    assert!(out.status.success());

    // NOT_FOUND.
    let out = ctl.run(&["cases", "get", &uuid::Uuid::now_v7().to_string()])?;
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("NotFound"));

    // A file that does not exist; an unknown column: nothing is sent.
    let out = ctl.run(&["cases", "import", dir.join("missing.csv").to_str().context("a path")?])?;
    assert_eq!(out.status.code(), Some(7));
    assert!(text(&out.stderr).contains("missing.csv"));
    let odd = dir.join("odd.csv");
    std::fs::write(&odd, "kind,category_code,region_code,title,content,colour\nCLAIM,housing,x,t,c,red\n")?;
    let out = ctl.run(&["cases", "import", odd.to_str().context("a path")?])?;
    assert_eq!(out.status.code(), Some(7));
    assert!(text(&out.stderr).contains("row 1: unknown column \"colour\""), "{}", text(&out.stderr));
    // A short row is named by its row; the others still go in.
    let short = dir.join("short.csv");
    std::fs::write(
        &short,
        format!(
            "kind,category_code,region_code,title,content,requests\n\
             CLAIM,housing,{0},小区管道漏水,小区公共管道漏水三个月无人处理。,请求督促物业维修\nCLAIM,housing\n",
            w.dir.township_a.code
        ),
    )?;
    let out = ctl.run(&["cases", "import", short.to_str().context("a path")?])?;
    assert_eq!(out.status.code(), Some(1));
    let failed = std::fs::read_to_string(dir.join("short.csv.failed.jsonl"))?;
    assert!(failed.contains("row 3: 2 fields where the header has 6"), "{failed}");
    assert_eq!(failed.lines().count(), 1, "{failed}");
    assert_eq!(owned(&w.owner).await?.len(), 1);

    // Bad usage is clap's: 2.
    let out = ctl.run(&["cases", "list", "--state", "NO_SUCH_STATE"])?;
    assert_eq!(out.status.code(), Some(2));

    // Signed out: the session is gone.
    assert!(ctl.run(&["logout"])?.status.success());
    assert!(!ctl.config.join("session.json").exists());
    assert_eq!(ctl.run(&["whoami"])?.status.code(), Some(7));
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

fn path(path: &Path) -> Result<&str> {
    path.to_str().context("a UTF-8 path")
}

/// The import summary's (imported, existing, failed).
fn counts(summary: &serde_json::Value) -> (u64, u64, u64) {
    let count = |key: &str| summary[0][key].as_u64().unwrap_or(u64::MAX);
    (count("imported"), count("existing"), count("failed"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn directory_and_calendar_imports_rerun_without_creating_twice() -> Result<()> {
    let server = TestServer::spawn().await?;
    let dir_world = Directory::create(&server.admin().await?).await?;
    let dir = std::env::temp_dir().join(format!("petitionctl-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir)?;
    let admin = Ctl::signed_in(&server, &dir, "admin", ADMIN_PASSWORD)?;

    // Directory writes: a region, an organization renamed (read, then changed as read).
    let region = admin.json(&[
        "regions",
        "create",
        "360702002",
        "--name",
        "沙石镇",
        "--level",
        "township",
        "--parent",
        "360702",
    ])?;
    assert_eq!((region[0]["code"].as_str(), region[0]["level"].as_str()), (Some("360702002"), Some("TOWNSHIP")));
    let renamed = admin.json(&["orgs", "update", &dir_world.unit_a.id, "--name", "章贡区住房和城乡建设局"])?;
    assert_eq!(renamed[0]["name"], "章贡区住房和城乡建设局");
    assert_ne!(renamed[0]["etag"], serde_json::Value::String(dir_world.unit_a.etag.clone()));
    let out = admin.run(&[
        "orgs",
        "update",
        &dir_world.unit_a.id,
        "--name",
        "又一个名字",
        "--etag",
        &dir_world.unit_a.etag,
    ])?;
    assert_eq!(out.status.code(), Some(5), "a stale etag: {}", text(&out.stderr));

    // Organizations: four rows, one a repeat of another; twice.
    let organizations = dir.join("organizations.csv");
    std::fs::write(
        &organizations,
        format!(
            "name,kind,region_code,parent_organization_id\n\
             章贡区人社局,RESPONSIBLE_UNIT,360702,\n\
             解放街道办事处,responsible_unit,360702001,\n\
             章贡区法律援助中心,LEGAL_AID_CENTRE,360702,{0}\n\
             章贡区人社局,RESPONSIBLE_UNIT,360702,\n",
            dir_world.bureau_a.id
        ),
    )?;
    let listed = |ctl: &Ctl| -> Result<Vec<serde_json::Value>> {
        Ok(ctl.json(&["orgs", "list", "--region", "360702"])?.as_array().cloned().unwrap_or_default())
    };
    let before = listed(&admin)?.len();
    let first = admin.json(&["organizations", "import", path(&organizations)?])?;
    assert_eq!(counts(&first), (4, 0, 0), "{first}");
    assert_eq!(listed(&admin)?.len(), before + 3);
    let again = admin.json(&["organizations", "import", path(&organizations)?])?;
    assert_eq!(counts(&again), (0, 4, 0), "{again}");
    let after = listed(&admin)?;
    assert_eq!(after.len(), before + 3);
    let unit = after.iter().find(|o| o["name"] == "章贡区人社局").context("imported")?;
    let unit_id = unit["id"].as_str().context("an id")?.to_owned();

    // Staff: two accounts, twice; then one row that differs from its account.
    let staff = dir.join("staff.csv");
    let write_staff = |name: &str| -> Result<()> {
        let mut writer = csv::Writer::from_path(&staff)?;
        writer.write_record(["login_name", "display_name", "password", "organization_id", "roles", "phone"])?;
        writer.write_record(["rs.clerk", "人社登记员", PASSWORD, &dir_world.bureau_a.id, "CLERK", ""])?;
        writer.write_record(["rs.handler", name, PASSWORD, &unit_id, "HANDLER;UNIT_LEAD", "13800001111"])?;
        writer.flush()?;
        Ok(())
    };
    write_staff("人社承办人")?;
    assert_eq!(counts(&admin.json(&["staff", "import", path(&staff)?])?), (2, 0, 0));
    assert_eq!(counts(&admin.json(&["staff", "import", path(&staff)?])?), (0, 2, 0));
    let members = admin.json(&["staff", "list", "--organization", &unit_id])?;
    assert_eq!(members.as_array().map(Vec::len), Some(1), "{members}");
    assert_eq!(members[0]["roles"], "HANDLER,UNIT_LEAD");
    write_staff("改了名字")?;
    let out = admin.run(&["--output", "json", "staff", "import", path(&staff)?])?;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let failed = std::fs::read_to_string(dir.join("staff.csv.failed.jsonl"))?;
    assert!(failed.contains("row 3") && failed.contains("display_name"), "{failed}");
    assert!(!failed.contains(PASSWORD), "passwords stay out of the failed rows: {failed}");

    // Calendar years: two years, twice; a year with a bad row goes in not at all.
    let years = dir.join("calendar.jsonl");
    std::fs::write(
        &years,
        "{\"date\":\"2031-10-01\",\"kind\":\"HOLIDAY\",\"note\":\"国庆节\"}\n\
         {\"date\":\"2031-09-28\",\"kind\":\"WORKDAY\"}\n\
         {\"date\":\"2032-01-01\",\"kind\":\"HOLIDAY\",\"note\":\"元旦\"}\n",
    )?;
    assert_eq!(counts(&admin.json(&["calendar", "import", path(&years)?])?), (3, 0, 0));
    assert_eq!(counts(&admin.json(&["calendar", "import", path(&years)?])?), (0, 3, 0));
    let year = admin.json(&["calendar", "get", "2031"])?;
    assert_eq!((year[0]["date"].as_str(), year[1]["kind"].as_str()), (Some("2031-09-28"), Some("HOLIDAY")), "{year}");
    let bad = dir.join("bad-year.csv");
    std::fs::write(&bad, "date,kind,note\n2033-10-03,HOLIDAY,国庆节\n2033-10-02,WEEKEND,\n2034-01-02,HOLIDAY,\n")?;
    let out = admin.run(&["--output", "json", "calendar", "import", path(&bad)?])?;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert_eq!(counts(&serde_json::from_slice(&out.stdout)?), (1, 0, 2));
    let failed = std::fs::read_to_string(dir.join("bad-year.csv.failed.jsonl"))?;
    assert!(failed.contains("\"row\":2") && failed.contains("row 3: column kind"), "{failed}");
    assert_eq!(admin.json(&["calendar", "get", "2033"])?, serde_json::json!([]));

    // Calendar write: a year set by hand.
    admin.json(&["calendar", "set", "2035", "--holiday", "2035-10-01=国庆节"])?;
    assert_eq!(admin.json(&["calendar", "get", "2035"])?[0]["note"], "国庆节");

    // A clerk imported above may not write the directory: 4; a missing organization: 3.
    let clerk = Ctl::signed_in(&server, &dir, "rs.clerk", PASSWORD)?;
    let out = clerk.run(&[
        "regions",
        "create",
        "360702003",
        "--name",
        "水东镇",
        "--level",
        "TOWNSHIP",
        "--parent",
        "360702",
    ])?;
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("PermissionDenied"), "{}", text(&out.stderr));
    let out = admin.run(&["orgs", "get", &uuid::Uuid::now_v7().to_string()])?;
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

/// The cases' events in the feed, once the feed's horizon passed them all
/// (a writing transaction anywhere in the cluster holds it back).
async fn feed_settled(w: &CaseWorld, cases: &[pb::Case]) -> Result<()> {
    use futures::TryStreamExt;
    let mut events = 0;
    for case in cases {
        events += w.admin.cases().case_events(case.id.clone()).try_collect::<Vec<_>>().await?.len();
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let fed = petition_tests::courts_world::all_changes(&w.admin).await?.len();
        if fed >= events {
            return Ok(());
        }
        ensure!(Instant::now() < deadline, "the feed shows {fed} of {events} events");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_case_walked_through_and_exports_that_equal_the_lists() -> Result<()> {
    // Duplicate detection on, for FindSimilarCases.
    let server = TestServer::spawn_with(|c| c.intake.duplicate_detection = true).await?;
    let w = CaseWorld::create(&server).await?;
    let dir = std::env::temp_dir().join(format!("petitionctl-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir)?;
    let clerk = Ctl::signed_in(&server, &dir, "clerk.a", PASSWORD)?;
    let handler = Ctl::signed_in(&server, &dir, "handler.a", PASSWORD)?;
    let case = w.submit(claim("楼道积水无人管")).await?;

    // Forwarded by number, accepted with a stale etag (5), then with the fresh one.
    let routed = clerk.json(&["cases", "forward", &case.number, "--to", &w.dir.unit_a.id, "--note", "请核查"])?;
    assert_eq!(routed[0]["state"], "ROUTED");
    let out = handler.run(&["cases", "accept", &case.id, "--etag", &case.etag])?;
    assert_eq!(out.status.code(), Some(5), "a stale etag: {}", text(&out.stderr));
    let etag = routed[0]["etag"].as_str().context("an etag")?;
    let accepted = handler.json(&["cases", "accept", &case.id, "--etag", etag, "--note", "已受理"])?;
    assert_eq!(accepted[0]["state"], "ACCEPTED");
    let note = handler.json(&["cases", "follow-up", &case.id, "--kind", "contact", "--note", "已电话联系"])?;
    assert_eq!(note[0]["type"], "FOLLOWED_UP");
    let replied = handler.json(&[
        "cases",
        "reply",
        &case.id,
        "--request",
        "维修管道",
        "--facts",
        "属实",
        "--decision",
        "SUPPORTED",
        "--legal-basis",
        "《物业管理条例》",
    ])?;
    assert_eq!(replied[0]["state"], "REPLIED");
    let events = clerk.json(&["cases", "events", &case.number])?;
    let types: Vec<&str> = events.as_array().into_iter().flatten().filter_map(|e| e["type"].as_str()).collect();
    assert_eq!(types, ["REGISTERED", "ROUTED", "ACCEPTED", "FOLLOWED_UP", "REPLIED"], "{events}");
    assert_eq!(events[3]["detail"]["followed_up"]["note"], "已电话联系");
    assert!(clerk.json(&["cases", "similar", &case.id])?.is_array());

    // More cases, then the list exported whole, and in two runs, equals the list.
    let mut cases = vec![case];
    for i in 0..11 {
        cases.push(w.submit(claim(&format!("路灯不亮 {i}"))).await?);
    }
    let listed = clerk.run(&["--output", "csv", "cases", "list", "--limit", "1000"])?;
    assert!(listed.status.success(), "{}", text(&listed.stderr));
    assert_eq!(csv::Reader::from_reader(listed.stdout.as_slice()).records().count(), cases.len());
    let whole = dir.join("cases.csv");
    clerk.json(&["cases", "export", path(&whole)?, "--page-size", "5"])?;
    assert_eq!(text(&std::fs::read(&whole)?), text(&listed.stdout));
    let parts = dir.join("cases-parts.csv");
    let first = clerk.json(&["cases", "export", path(&parts)?, "--page-size", "5", "--max-pages", "1"])?;
    assert_eq!((first[0]["rows"].as_u64(), first[0]["complete"].as_bool()), (Some(5), Some(false)));
    let rest = clerk.json(&["cases", "export", path(&parts)?, "--page-size", "5"])?;
    assert_eq!((rest[0]["rows"].as_u64(), rest[0]["total_rows"].as_u64()), (Some(7), Some(12)));
    assert_eq!(std::fs::read(&parts)?, std::fs::read(&whole)?);
    let filtered = clerk.json(&["cases", "list", "--state", "replied", "--kind", "claim", "--region", "360702"])?;
    assert_eq!(filtered.as_array().map(Vec::len), Some(1), "{filtered}");

    // The feed: one export, and one cut after 4 changes and resumed, are the same file.
    feed_settled(&w, &cases).await?;
    let admin = Ctl::signed_in(&server, &dir, "admin", ADMIN_PASSWORD)?;
    let whole = dir.join("feed.jsonl");
    let once = admin.json(&["feed", "export", path(&whole)?, "--page-size", "7"])?;
    let parts = dir.join("feed-parts.jsonl");
    let cut = admin.json(&["feed", "export", path(&parts)?, "--page-size", "7", "--limit", "4"])?;
    assert_eq!(cut[0]["rows"].as_u64(), Some(4));
    let resumed = admin.json(&["feed", "export", path(&parts)?, "--page-size", "7"])?;
    assert_eq!(std::fs::read(&parts)?, std::fs::read(&whole)?);
    let changes: Vec<serde_json::Value> =
        text(&std::fs::read(&whole)?).lines().map(serde_json::from_str).collect::<Result<_, _>>()?;
    // Each run ends at or past the last change (the feed's horizon may be further on).
    let last = changes.last().and_then(|c| c["position"].as_i64());
    let position = |summary: &serde_json::Value| summary[0]["position"].as_str().and_then(|p| p.parse::<i64>().ok());
    assert!(position(&resumed) >= last && position(&once) >= last, "{resumed} {once}");
    assert!(changes.len() > 12 && changes.windows(2).all(|p| p[0]["position"].as_i64() < p[1]["position"].as_i64()));
    assert!(changes.iter().any(|c| c["event_type"] == "CASE_EVENT_TYPE_REPLIED"));
    // From a position: the tail of the whole.
    let after = changes[3]["position"].as_i64().context("a position")?.to_string();
    let tail = dir.join("feed-tail.jsonl");
    admin.json(&["feed", "export", path(&tail)?, "--after", &after])?;
    assert_eq!(text(&std::fs::read(&tail)?).lines().count(), changes.len() - 4);
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
