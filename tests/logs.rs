//! The access log of the real binary, as an operator reads it at the default `info` level:
//! secrets in paths, queries and bodies never reach it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

struct Server {
    child: Child,
    log: Arc<Mutex<String>>,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut child = Command::new(env!("CARGO_BIN_EXE_podium"))
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", dir.path().join("podium.db"))
            .env("PODIUM_CONFIG", "/nonexistent/podium.toml")
            .env("PODIUM_BIND", "127.0.0.1:0")
            .env("PODIUM_ADMIN_PASSWORD", "a password for the log test")
            .env("PODIUM_LOG_LEVEL", "info")
            .env("PODIUM_WORKERS", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the server starts");
        let log = Arc::new(Mutex::new(String::new()));
        let stderr = child.stderr.take().expect("stderr");
        let sink = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut log = sink.lock().expect("log");
                log.push_str(&line);
                log.push('\n');
            }
        });
        Server {
            child,
            log,
            _dir: dir,
        }
    }

    fn log(&self) -> String {
        self.log.lock().expect("log").clone()
    }

    /// Waits until the log has a line containing `needle`, and returns that line.
    fn wait_for(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(line) = self.log().lines().find(|l| l.contains(needle)) {
                return line.to_owned();
            }
            assert!(
                Instant::now() < deadline,
                "no log line with {needle:?}:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn port(&self) -> u16 {
        let line = self.wait_for("podium is listening");
        let at = line.find("port=").expect("a port field") + "port=".len();
        line[at..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect::<String>()
            .parse()
            .expect("a port")
    }
}

/// Sends one HTTP/1.1 request and reads the whole answer.
fn send(port: u16, request: &str) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connected");
    stream
        .write_all(request.as_bytes())
        .expect("request written");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("answer read");
    answer
}

#[test]
fn secrets_in_paths_queries_and_bodies_never_reach_the_access_log() {
    let server = Server::start();
    let port = server.port();
    let share = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJsb2ctdGVzdCJ9.c2lnbmF0dXJlLW9mLXRoZS1saW5r";
    let answer = send(
        port,
        &format!("GET /share/{share} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
    );
    assert!(answer.starts_with("HTTP/1.1 404"), "{answer}");
    send(
        port,
        "GET /api/v1/me?access_token=query-secret-value&limit=3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    let body =
        r#"{"grant_type":"password","email":"admin@podium.local","password":"body-secret-value"}"#;
    send(
        port,
        &format!(
            "POST /api/v1/auth/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    );
    server.wait_for("/share/[redacted]");
    server.wait_for("access_token=[redacted]&limit=3");
    server.wait_for("/api/v1/auth/token");
    let log = server.log();
    for secret in [
        share,
        "eyJzdWIiOiJsb2ctdGVzdCJ9",
        "query-secret-value",
        "body-secret-value",
    ] {
        assert!(!log.contains(secret), "{secret} is in the log:\n{log}");
    }
}
