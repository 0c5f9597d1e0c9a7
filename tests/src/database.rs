//! One template database per set of migrations, migrated once and shared by
//! every test process; each test gets `CREATE DATABASE … TEMPLATE` and drops
//! it afterwards.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::PathBuf;
use std::sync::OnceLock;

use anyhow::{Context, Result, bail};
use diesel::prelude::*;
use diesel::sql_query;
use diesel_migrations::MigrationHarness;
use petition_server::db::MIGRATIONS;
use petition_server::embedded_pg::EmbeddedPostgres;

/// Where the maintenance connection of the test PostgreSQL server is.
struct Server {
    /// URL of a database to connect to for CREATE/DROP DATABASE.
    maintenance_url: String,
    /// Builds the URL of a database by name.
    url_prefix: String,
    url_suffix: String,
}

static SERVER: OnceLock<Result<Server, String>> = OnceLock::new();
/// The embedded cluster, if that is what the tests run on; kept for the
/// process lifetime (stopped by the OS reaping its children is not enough:
/// it is a daemon, so it keeps running for the next test process).
static EMBEDDED: OnceLock<EmbeddedPostgres> = OnceLock::new();

fn split_url(url: &str) -> Result<(String, String)> {
    // postgres://user@host:port/db?params → ("postgres://user@host:port/", "?params")
    let scheme_end = url.find("://").context("database URL has no scheme")? + 3;
    let path_start =
        url[scheme_end..].find('/').map(|i| i + scheme_end).context("database URL has no database name")?;
    let query_start = url[path_start..].find('?').map(|i| i + path_start).unwrap_or(url.len());
    Ok((url[..=path_start].to_owned(), url[query_start..].to_owned()))
}

fn can_connect(url: &str) -> bool {
    PgConnection::establish(url).is_ok()
}

fn locate_server() -> Result<Server, String> {
    let maintenance_url = if let Ok(url) = std::env::var("TEST_DATABASE_URL") {
        url
    } else if can_connect("postgres://postgres@127.0.0.1:5432/postgres") {
        "postgres://postgres@127.0.0.1:5432/postgres".to_owned()
    } else {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/test-postgres");
        let embedded = EmbeddedPostgres::start(&dir).map_err(|e| format!("no PostgreSQL for tests: {e}"))?;
        let url = embedded.database_url();
        let _ = EMBEDDED.set(embedded);
        url
    };
    let (url_prefix, url_suffix) = split_url(&maintenance_url).map_err(|e| e.to_string())?;
    Ok(Server { maintenance_url, url_prefix, url_suffix })
}

fn server() -> Result<&'static Server> {
    SERVER.get_or_init(locate_server).as_ref().map_err(|e| anyhow::anyhow!(e.clone()))
}

impl Server {
    fn url(&self, database: &str) -> String {
        format!("{}{database}{}", self.url_prefix, self.url_suffix)
    }
}

/// A fingerprint of every migration's SQL, naming the template so that a
/// changed migration gets a new template.
fn migrations_fingerprint() -> Result<u64> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../migrations");
    let mut entries: Vec<PathBuf> = std::fs::read_dir(&dir)?.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    let mut hasher = DefaultHasher::new();
    for entry in entries {
        for file in ["up.sql", "down.sql"] {
            std::fs::read_to_string(entry.join(file)).unwrap_or_default().hash(&mut hasher);
        }
        entry.file_name().hash(&mut hasher);
    }
    Ok(hasher.finish())
}

/// Creates the template database once across every test process (under an
/// advisory lock) and returns its name.
fn template() -> Result<String> {
    static TEMPLATE: OnceLock<Result<String, String>> = OnceLock::new();
    TEMPLATE.get_or_init(|| create_template().map_err(|e| format!("{e:#}"))).clone().map_err(|e| anyhow::anyhow!(e))
}

fn create_template() -> Result<String> {
    let server = server()?;
    let name = format!("petition_template_{:016x}", migrations_fingerprint()?);
    let mut admin = PgConnection::establish(&server.maintenance_url).context("connecting to the test PostgreSQL")?;
    sql_query("SELECT pg_advisory_lock(7171)").execute(&mut admin)?;
    let result = (|| -> Result<()> {
        #[derive(QueryableByName)]
        struct Found {
            #[diesel(sql_type = diesel::sql_types::Bool)]
            found: bool,
        }
        let exists = sql_query("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1) AS found")
            .bind::<diesel::sql_types::Text, _>(&name)
            .get_result::<Found>(&mut admin)?
            .found;
        if !exists {
            let building = format!("{name}_building");
            sql_query(format!("DROP DATABASE IF EXISTS {building}")).execute(&mut admin)?;
            sql_query(format!("CREATE DATABASE {building}")).execute(&mut admin)?;
            {
                let mut conn = PgConnection::establish(&server.url(&building))?;
                conn.run_pending_migrations(MIGRATIONS).map_err(|e| anyhow::anyhow!("migrating the template: {e}"))?;
            }
            // Renamed only when complete, so a crash never leaves a half-made template.
            sql_query(format!("ALTER DATABASE {building} RENAME TO {name}")).execute(&mut admin)?;
        }
        Ok(())
    })();
    sql_query("SELECT pg_advisory_unlock(7171)").execute(&mut admin)?;
    result.map(|()| name)
}

/// A database of its own for one test, dropped when this is dropped.
pub struct TestDatabase {
    name: String,
    url: String,
}

impl TestDatabase {
    /// A fresh, migrated, empty database.
    pub fn create() -> Result<TestDatabase> {
        let server = server()?;
        let template = template()?;
        let name = format!("petition_test_{}", uuid::Uuid::now_v7().simple());
        let mut admin = PgConnection::establish(&server.maintenance_url)?;
        // A template with a session open cannot be copied; retry briefly if
        // another process is just finishing with it.
        let mut attempts = 0;
        loop {
            match sql_query(format!("CREATE DATABASE {name} TEMPLATE {template}")).execute(&mut admin) {
                Ok(_) => break,
                Err(e) if attempts < 50 => {
                    attempts += 1;
                    let _ = e;
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
                Err(e) => bail!("cannot create the test database: {e}"),
            }
        }
        Ok(TestDatabase { url: server.url(&name), name })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// A direct connection, for assertions on what was stored.
    pub fn connect(&self) -> Result<PgConnection> {
        Ok(PgConnection::establish(&self.url)?)
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Ok(server) = server()
            && let Ok(mut admin) = PgConnection::establish(&server.maintenance_url)
        {
            let _ = sql_query(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)).execute(&mut admin);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_splitting() -> Result<()> {
        assert_eq!(
            split_url("postgres://postgres@127.0.0.1:5432/postgres")?,
            ("postgres://postgres@127.0.0.1:5432/".into(), String::new())
        );
        assert_eq!(
            split_url("postgresql://postgres@/petition?host=/tmp/s&port=5432")?,
            ("postgresql://postgres@/".into(), "?host=/tmp/s&port=5432".into())
        );
        Ok(())
    }
}
