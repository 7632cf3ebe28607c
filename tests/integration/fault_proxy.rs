//! A fault-injecting HTTP proxy for the push tests: it listens on a free 127.0.0.1 port in
//! front of a real service (the registry on 127.0.0.1:5000) and forwards every request, except
//! those a [`Rule`] matches, which get the rule's [`Fault`] instead: an error status (a 429 with
//! `Retry-After`), a connection reset before or in the middle of the answer, a stall that never
//! answers, or a `HEAD` answer naming a digest the registry does not have.
//!
//! Each connection carries one request: the proxy adds `Connection: close` to what it forwards,
//! so that every request is seen and matched. Threads only (no runtime), so a test can start it
//! next to the real binary it runs.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What a matched request gets.
#[derive(Debug, Clone)]
pub enum Fault {
    /// This status, with these extra headers (`Retry-After`), and an empty body.
    Status(u16, Vec<(String, String)>),
    /// The connection is closed as soon as the request head is read.
    Reset,
    /// The request is forwarded, and the connection closed after this many bytes of the answer.
    ResetAfter(usize),
    /// The request is read (body included when it has a length) and never answered.
    Stall,
    /// `200` with `Docker-Content-Digest: <this>` and no body (for `HEAD`).
    Digest(String),
    /// The request is forwarded at once (the registry acts on it), its answer held this long.
    SlowAnswer(Duration),
}

/// Which requests a fault applies to, and how often.
#[derive(Debug, Clone)]
pub struct Rule {
    /// `GET`, `HEAD`, `PUT`, `PATCH`…; `None` for any.
    pub method: Option<&'static str>,
    /// A part of the path the request must contain.
    pub path_contains: String,
    /// The fault.
    pub fault: Fault,
    /// How many matching requests get it; `usize::MAX` for all.
    pub times: usize,
}

impl Rule {
    /// A rule for every matching request.
    pub fn always(method: Option<&'static str>, path_contains: &str, fault: Fault) -> Rule {
        Rule {
            method,
            path_contains: path_contains.to_string(),
            fault,
            times: usize::MAX,
        }
    }
}

struct State {
    rules: Mutex<Vec<(Rule, usize)>>,
    /// `METHOD path -> fault` for every request a rule matched, for the tests to assert on.
    hits: Mutex<Vec<String>>,
    upstream: String,
    stop: AtomicBool,
    open: AtomicUsize,
}

/// A running proxy; dropped, it stops accepting and releases stalled connections.
pub struct FaultProxy {
    address: String,
    state: Arc<State>,
}

impl FaultProxy {
    /// Starts a proxy in front of `upstream` (`host:port`).
    pub fn start(upstream: &str, rules: Vec<Rule>) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
        let address = listener.local_addr().unwrap().to_string();
        let state = Arc::new(State {
            rules: Mutex::new(rules.into_iter().map(|r| (r, 0)).collect()),
            hits: Mutex::new(Vec::new()),
            upstream: upstream.to_string(),
            stop: AtomicBool::new(false),
            open: AtomicUsize::new(0),
        });
        let accepting = Arc::clone(&state);
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if accepting.stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(client) = client else { continue };
                let state = Arc::clone(&accepting);
                std::thread::spawn(move || {
                    state.open.fetch_add(1, Ordering::SeqCst);
                    let _ = serve(&state, client);
                    state.open.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        FaultProxy { address, state }
    }

    /// `127.0.0.1:PORT`.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// Every request a rule matched, as `METHOD path`.
    pub fn hits(&self) -> Vec<String> {
        self.state.hits.lock().unwrap().clone()
    }

    /// Replaces the rules.
    pub fn set_rules(&self, rules: Vec<Rule>) {
        *self.state.rules.lock().unwrap() = rules.into_iter().map(|r| (r, 0)).collect();
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so that it sees `stop`.
        let _ = TcpStream::connect(&self.address);
    }
}

fn serve(state: &State, client: TcpStream) -> std::io::Result<()> {
    client.set_read_timeout(Some(Duration::from_secs(120)))?;
    let mut reader = BufReader::new(client.try_clone()?);
    let mut head = Vec::new();
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut content_length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        if line == "\r\n" || line == "\n" {
            break;
        }
        let lower = line.to_ascii_lowercase();
        if lower.starts_with("connection:") || lower.starts_with("keep-alive:") {
            continue;
        }
        if let Some(value) = lower.strip_prefix("content-length:") {
            content_length = value.trim().parse().unwrap_or(0);
        }
        head.extend_from_slice(line.as_bytes());
    }
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let path = parts.next().unwrap_or("").to_string();
    let fault = {
        let mut rules = state.rules.lock().unwrap();
        rules
            .iter_mut()
            .find(|(rule, used)| {
                *used < rule.times
                    && rule.method.is_none_or(|m| m == method)
                    && path.contains(&rule.path_contains)
            })
            .map(|(rule, used)| {
                *used += 1;
                rule.fault.clone()
            })
    };
    if let Some(fault) = &fault {
        state
            .hits
            .lock()
            .unwrap()
            .push(format!("{method} {path} -> {fault:?}"));
    }
    let mut client_out = client;
    match fault {
        Some(Fault::Status(status, headers)) => {
            drain(&mut reader, content_length);
            let mut answer = format!("HTTP/1.1 {status} Fault\r\nContent-Length: 0\r\n");
            for (name, value) in headers {
                answer.push_str(&format!("{name}: {value}\r\n"));
            }
            answer.push_str("Connection: close\r\n\r\n");
            client_out.write_all(answer.as_bytes())?;
            return Ok(());
        }
        Some(Fault::Reset) => {
            let _ = client_out.shutdown(Shutdown::Both);
            return Ok(());
        }
        Some(Fault::Stall) => {
            drain(&mut reader, content_length);
            while !state.stop.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(200));
            }
            return Ok(());
        }
        Some(Fault::Digest(digest)) => {
            drain(&mut reader, content_length);
            let answer = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.distribution.manifest.v2+json\r\nDocker-Content-Digest: {digest}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
            client_out.write_all(answer.as_bytes())?;
            return Ok(());
        }
        Some(Fault::ResetAfter(_) | Fault::SlowAnswer(_)) | None => {}
    }
    let mut upstream = Upstream::connect(&state.upstream)?;
    upstream.write_all(request_line.as_bytes())?;
    upstream.write_all(&head)?;
    upstream.write_all(b"Connection: close\r\n\r\n")?;
    // The body (a fixed length or chunks) follows as the client sends it.
    let mut to_upstream = upstream.try_clone()?;
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut reader, &mut to_upstream);
    });
    let limit = match fault {
        Some(Fault::ResetAfter(bytes)) => bytes,
        _ => usize::MAX,
    };
    let mut delay = match fault {
        Some(Fault::SlowAnswer(delay)) => Some(delay),
        _ => None,
    };
    let mut sent = 0usize;
    let mut buffer = [0u8; 16 * 1024];
    loop {
        let n = upstream.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        if let Some(delay) = delay.take() {
            std::thread::sleep(delay);
        }
        let n = n.min(limit - sent);
        client_out.write_all(&buffer[..n])?;
        sent += n;
        if sent >= limit {
            break;
        }
    }
    let _ = client_out.shutdown(Shutdown::Both);
    let _ = upstream.shutdown(Shutdown::Both);
    Ok(())
}

/// The service behind the proxy: `host:port`, or `unix:/path` for a socket (the Docker engine).
enum Upstream {
    Tcp(TcpStream),
    Unix(std::os::unix::net::UnixStream),
}

impl Upstream {
    fn connect(address: &str) -> std::io::Result<Upstream> {
        Ok(match address.strip_prefix("unix:") {
            Some(path) => Upstream::Unix(std::os::unix::net::UnixStream::connect(path)?),
            None => Upstream::Tcp(TcpStream::connect(address)?),
        })
    }

    fn try_clone(&self) -> std::io::Result<Upstream> {
        Ok(match self {
            Upstream::Tcp(s) => Upstream::Tcp(s.try_clone()?),
            Upstream::Unix(s) => Upstream::Unix(s.try_clone()?),
        })
    }

    fn shutdown(&self, how: Shutdown) -> std::io::Result<()> {
        match self {
            Upstream::Tcp(s) => s.shutdown(how),
            Upstream::Unix(s) => s.shutdown(how),
        }
    }
}

impl Read for Upstream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Upstream::Tcp(s) => s.read(buf),
            Upstream::Unix(s) => s.read(buf),
        }
    }
}

impl Write for Upstream {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Upstream::Tcp(s) => s.write(buf),
            Upstream::Unix(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Upstream::Tcp(s) => s.flush(),
            Upstream::Unix(s) => s.flush(),
        }
    }
}

/// Reads a request body of known length, so that the client sees its answer.
fn drain(reader: &mut impl Read, length: usize) {
    let _ = std::io::copy(&mut reader.take(length as u64), &mut std::io::sink());
}
