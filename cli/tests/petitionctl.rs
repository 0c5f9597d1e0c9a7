//! `petitionctl` against a real server: sign-in kept 0600, an import killed
//! half-way and run again creates every row exactly once, a list exported
//! as CSV equals the API's list, JSON output parses, and the exit codes.

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
