//! The control channel: how `circlectl` (or an agent, from Rust) drives a running `circled`.
//!
//! Newline-delimited JSON, one [`Request`] per line, one [`Response`] per line back (see
//! [`protocol`]). `circled` listens on a local endpoint only its user can reach:
//!
//! - **Unix**: a socket, mode 0600. The path is `[circle] endpoint` (relative to the
//!   configuration file), else `$XDG_RUNTIME_DIR/circle/STEM.sock`, else
//!   `/tmp/circle-UID/STEM.sock`, where `STEM` is the configuration file's name without its
//!   extension ([`default_endpoint`]). A missing directory is created with mode 0700, so
//!   only its owner can enter it; an existing one is refused when others could replace the
//!   socket in it (writable by group or others without the sticky bit, or owned by another
//!   user than `circled`'s or root).
//! - **Windows**: a named pipe `\\.\pipe\circle-STEM` (or `[circle] endpoint`: a pipe name,
//!   or a path, which names the pipe `\\.\pipe\` + the path with `\`, `/`, `:` turned into
//!   `_`), whose security descriptor grants access to the current user, Administrators and
//!   SYSTEM only, and which refuses remote clients.
//!
//! No network listener is opened unless `[circle] tcp_endpoint = 127.0.0.1:PORT` is set, and
//! then only on a loopback address and only together with `[circle] token`: a TCP connection
//! must first send `{"command":"auth","token":"..."}` (compared in constant time).
//!
//! Every connection is served by its own task; a malformed, oversized (over [`MAX_LINE`]) or
//! unknown request gets a [`Response::Error`] and the connection goes on.

pub mod cli;
mod client;
mod handler;
pub mod protocol;
mod server;
#[cfg(unix)]
mod unix;
#[cfg(windows)]
mod windows;

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use client::Client;
pub use handler::SupervisorHandler;
pub use protocol::{
    DaemonInfo, ErrorKind, ErrorReply, MAX_LINE, PROTOCOL_VERSION, ProcessInfo, ReloadSummary,
    Request, Response, ScaleInfo, WatcherInfo,
};
pub use server::{ControlServer, Handler, Reply};

use crate::config::Config;
use crate::error::{Error, Result};
use crate::supervisor::Supervisor;

/// Where `circled` listens.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Endpoint {
    /// A Unix socket path.
    Unix(PathBuf),
    /// A Windows named pipe, `\\.\pipe\NAME`.
    Pipe(String),
    /// A loopback TCP address (with a token).
    Tcp(SocketAddr),
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Unix(p) => write!(f, "{}", p.display()),
            Endpoint::Pipe(p) => f.write_str(p),
            Endpoint::Tcp(a) => write!(f, "tcp://{a}"),
        }
    }
}

impl Endpoint {
    /// Parses an endpoint as written in `[circle] endpoint` or `circlectl --endpoint`:
    /// `tcp://HOST:PORT`, `\\.\pipe\NAME`, `unix://PATH` or a plain path, which is relative to
    /// `base` (the configuration file's directory).
    ///
    /// # Platform behavior
    /// On Windows a path names a pipe instead (see the module documentation).
    ///
    /// # Errors
    /// [`Error::Endpoint`] for a `tcp://` address that is not `IP:PORT`.
    pub fn parse(text: &str, base: &Path) -> Result<Endpoint> {
        let text = text.trim();
        if let Some(addr) = text.strip_prefix("tcp://") {
            return addr
                .parse::<SocketAddr>()
                .map(Endpoint::Tcp)
                .map_err(|e| Error::Endpoint {
                    endpoint: text.to_string(),
                    source: std::io::Error::new(
                        std::io::ErrorKind::InvalidInput,
                        format!("expected tcp://IP:PORT: {e}"),
                    ),
                });
        }
        let lower = text.to_ascii_lowercase();
        if lower.starts_with(r"\\.\pipe\") || lower.starts_with("//./pipe/") {
            return Ok(Endpoint::Pipe(text.replace('/', "\\")));
        }
        let text = text.strip_prefix("unix://").unwrap_or(text);
        if cfg!(windows) {
            // No Unix sockets for tokio on Windows: a path names a pipe.
            return Ok(Endpoint::Pipe(pipe_for_path(text)));
        }
        let path = Path::new(text);
        Ok(Endpoint::Unix(if path.is_absolute() {
            path.to_path_buf()
        } else {
            base.join(path)
        }))
    }
}

/// The pipe a path-like endpoint names on Windows: `\\.\pipe\` and the path with `\`, `/`
/// and `:` replaced by `_` (`ctl.sock` -> `\\.\pipe\ctl.sock`).
pub(crate) fn pipe_for_path(text: &str) -> String {
    let name: String = text
        .chars()
        .map(|c| {
            if matches!(c, '\\' | '/' | ':') {
                '_'
            } else {
                c
            }
        })
        .collect();
    format!(r"\\.\pipe\{name}")
}

/// The name part of the default endpoint: the configuration file's stem, else `circle`.
pub fn config_stem(config_file: Option<&Path>) -> String {
    config_file
        .and_then(Path::file_stem)
        .map(|s| s.to_string_lossy().into_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "circle".to_string())
}

/// The endpoint `circled` uses for a configuration file when `[circle] endpoint` is not set.
///
/// # Platform behavior
/// Unix: `$XDG_RUNTIME_DIR/circle/STEM.sock` when that variable holds an absolute path, else
/// `/tmp/circle-UID/STEM.sock` (UID: the effective user id). Windows: `\\.\pipe\circle-STEM`.
pub fn default_endpoint(config_file: Option<&Path>) -> Endpoint {
    let stem = config_stem(config_file);
    #[cfg(unix)]
    {
        let xdg = std::env::var_os("XDG_RUNTIME_DIR").map(PathBuf::from);
        Endpoint::Unix(unix::default_socket_path(
            &stem,
            xdg.as_deref(),
            unix::euid(),
        ))
    }
    #[cfg(not(unix))]
    {
        Endpoint::Pipe(format!(r"\\.\pipe\circle-{stem}"))
    }
}

/// The local endpoint of a configuration: `[circle] endpoint` when it names a socket or pipe,
/// else [`default_endpoint`]. (A `tcp://` value there is read as `tcp_endpoint`, see
/// [`tcp_endpoint`]: circus configurations carry one.)
///
/// # Errors
/// [`Error::Endpoint`] for an unparsable value.
pub fn local_endpoint(config: &Config) -> Result<Endpoint> {
    let base = config_dir(config);
    match config.circle.endpoint.as_deref() {
        Some(text) if !text.trim().is_empty() => match Endpoint::parse(text, &base)? {
            Endpoint::Tcp(_) => Ok(default_endpoint(config.source.as_deref())),
            e => Ok(e),
        },
        _ => Ok(default_endpoint(config.source.as_deref())),
    }
}

/// The loopback TCP endpoint of a configuration and its token, if one is configured.
///
/// # Errors
/// [`Error::Endpoint`] for an address that is not a loopback `IP:PORT`, or one without a
/// `[circle] token`.
pub fn tcp_endpoint(config: &Config) -> Result<Option<(SocketAddr, String)>> {
    let base = config_dir(config);
    let text = match (&config.circle.tcp_endpoint, &config.circle.endpoint) {
        (Some(t), _) => t.clone(),
        (None, Some(e)) if e.trim().starts_with("tcp://") => e.clone(),
        _ => return Ok(None),
    };
    let with_scheme = if text.trim().starts_with("tcp://") {
        text.trim().to_string()
    } else {
        format!("tcp://{}", text.trim())
    };
    let Endpoint::Tcp(addr) = Endpoint::parse(&with_scheme, &base)? else {
        return Ok(None);
    };
    let bad = |msg: &str| Error::Endpoint {
        endpoint: with_scheme.clone(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidInput, msg.to_string()),
    };
    if !addr.ip().is_loopback() {
        return Err(bad(
            "the TCP control endpoint must be a loopback address (127.0.0.1 or ::1)",
        ));
    }
    match config.circle.token.as_deref() {
        Some(t) if !t.trim().is_empty() => Ok(Some((addr, t.trim().to_string()))),
        _ => {
            if config.circle.tcp_endpoint.is_none() {
                // A circus configuration's `endpoint = tcp://...`: circus listened there
                // without any authentication; circle will not, and uses its local socket.
                tracing::warn!(
                    "[circle] endpoint {with_scheme} ignored: a TCP endpoint requires [circle] token; \
                     listening on the local socket only"
                );
                Ok(None)
            } else {
                Err(bad("a TCP control endpoint requires [circle] token"))
            }
        }
    }
}

fn config_dir(config: &Config) -> PathBuf {
    config
        .source
        .as_deref()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// Starts the control server of `supervisor` on the current tokio runtime, on the endpoints of
/// its configuration. The server runs until the returned handle is dropped.
///
/// # Errors
/// [`Error::AlreadyRunning`] when another `circled` answers on the endpoint,
/// [`Error::Endpoint`] when it cannot be created or secured.
pub async fn serve(supervisor: Supervisor) -> Result<ControlServer> {
    let config = supervisor.config();
    serve_with(SupervisorHandler::new(supervisor), &config).await
}

/// Starts a control server answering with `handler`, on the endpoints of `config`.
///
/// # Errors
/// As [`serve`].
pub async fn serve_with<H: Handler>(handler: H, config: &Config) -> Result<ControlServer> {
    let listen = server::Listen {
        endpoint: local_endpoint(config)?,
        tcp: tcp_endpoint(config)?,
    };
    server::start(listen, Arc::new(handler)).await
}

/// Starts a control server answering with `handler` on exactly these endpoints.
///
/// # Errors
/// As [`serve`].
pub async fn serve_on<H: Handler>(
    handler: H,
    endpoint: Endpoint,
    tcp: Option<(SocketAddr, String)>,
) -> Result<ControlServer> {
    server::start(server::Listen { endpoint, tcp }, Arc::new(handler)).await
}

/// Checks that no `circled` answers on the local endpoint of `config`, before starting anything.
///
/// # Errors
/// [`Error::AlreadyRunning`] (with its pid) when one does; [`Error::Endpoint`] for an
/// unparsable endpoint.
pub async fn ensure_free(config: &Config) -> Result<()> {
    let endpoint = local_endpoint(config)?;
    match Client::connect(&endpoint).await {
        Ok(mut c) => Err(Error::AlreadyRunning {
            pid: c.info().await.ok().map(|i| i.pid),
            what: endpoint.to_string(),
        }),
        Err(_) => Ok(()),
    }
}

/// Finds the endpoint of a running `circled` from what `circlectl` was told: an explicit
/// endpoint, else a configuration file's, else the only socket in the default directory.
///
/// # Errors
/// [`Error::Endpoint`] when there are several candidates or the value cannot be parsed.
///
/// # Platform behavior
/// Windows has no socket directory to look into: without an endpoint or configuration the
/// default pipe `\\.\pipe\circle-circle` is used.
pub fn find_endpoint(explicit: Option<&str>, config_file: Option<&Path>) -> Result<Endpoint> {
    if let Some(e) = explicit {
        let cwd = std::env::current_dir().unwrap_or_default();
        return Endpoint::parse(e, &cwd);
    }
    if let Some(file) = config_file {
        if let Ok(config) = Config::from_file(file) {
            return local_endpoint(&config);
        }
        // A configuration that does not load (being edited, say) still names its endpoint.
        let base = file.parent().map(Path::to_path_buf).unwrap_or_default();
        if let Some(text) = std::fs::read_to_string(file)
            .ok()
            .and_then(|t| endpoint_from_ini(&t))
        {
            if let e @ (Endpoint::Unix(_) | Endpoint::Pipe(_)) = Endpoint::parse(&text, &base)? {
                return Ok(e);
            }
        }
        return Ok(default_endpoint(Some(file)));
    }
    #[cfg(unix)]
    {
        let fallback = default_endpoint(None);
        let Endpoint::Unix(path) = &fallback else {
            return Ok(fallback);
        };
        let mut socks: Vec<PathBuf> = path
            .parent()
            .and_then(|d| std::fs::read_dir(d).ok())
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "sock"))
            .collect();
        socks.sort();
        match socks.len() {
            0 => Ok(fallback),
            1 => Ok(Endpoint::Unix(socks.remove(0))),
            _ => Err(Error::Endpoint {
                endpoint: path
                    .parent()
                    .map(|d| d.display().to_string())
                    .unwrap_or_default(),
                source: std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!(
                        "several circled sockets ({}); choose one with -c CONFIG or --endpoint",
                        socks
                            .iter()
                            .map(|p| p.display().to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ),
            }),
        }
    }
    #[cfg(not(unix))]
    {
        Ok(default_endpoint(None))
    }
}

/// The `endpoint` key of the `[circle]` (or `[circus]`) section, read without validating the
/// rest of the file.
pub(crate) fn endpoint_from_ini(text: &str) -> Option<String> {
    let mut in_circle = false;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            let name = line.trim_matches(|c| c == '[' || c == ']').trim();
            in_circle = name.eq_ignore_ascii_case("circle") || name.eq_ignore_ascii_case("circus");
            continue;
        }
        if !in_circle {
            continue;
        }
        if let Some((k, v)) = line.split_once('=') {
            if k.trim().eq_ignore_ascii_case("endpoint") {
                return Some(v.trim().to_string());
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pipe_names_for_paths() {
        assert_eq!(pipe_for_path("ctl.sock"), r"\\.\pipe\ctl.sock");
        assert_eq!(pipe_for_path(r"C:\run\c.sock"), r"\\.\pipe\C__run_c.sock");
    }

    #[cfg(unix)]
    #[test]
    fn parses_endpoints() {
        let base = Path::new("/etc/circle");
        assert_eq!(
            Endpoint::parse("ctl.sock", base).unwrap(),
            Endpoint::Unix("/etc/circle/ctl.sock".into())
        );
        assert_eq!(
            Endpoint::parse("/run/c.sock", base).unwrap(),
            Endpoint::Unix("/run/c.sock".into())
        );
        assert_eq!(
            Endpoint::parse("unix:///run/c.sock", base).unwrap(),
            Endpoint::Unix("/run/c.sock".into())
        );
        assert_eq!(
            Endpoint::parse(r"\\.\pipe\circle-x", base).unwrap(),
            Endpoint::Pipe(r"\\.\pipe\circle-x".into())
        );
        assert_eq!(
            Endpoint::parse("tcp://127.0.0.1:5555", base).unwrap(),
            Endpoint::Tcp("127.0.0.1:5555".parse().unwrap())
        );
        assert!(Endpoint::parse("tcp://localhost", base).is_err());
        assert_eq!(
            Endpoint::parse("tcp://[::1]:9", base).unwrap().to_string(),
            "tcp://[::1]:9"
        );
    }

    #[test]
    fn stems() {
        assert_eq!(config_stem(Some(Path::new("/x/tour.ini"))), "tour");
        assert_eq!(config_stem(Some(Path::new("/x/.hidden"))), ".hidden");
        assert_eq!(config_stem(None), "circle");
    }

    #[test]
    fn endpoint_from_ini_reads_only_the_circle_section() {
        let t = "[watcher:a]\nendpoint = no\n[circus]\n check = 1\n Endpoint = /run/x.sock\n";
        assert_eq!(endpoint_from_ini(t).as_deref(), Some("/run/x.sock"));
        assert_eq!(endpoint_from_ini("[watcher:a]\nendpoint=x\n"), None);
    }

    fn with_circle(endpoint: Option<&str>, tcp: Option<&str>, token: Option<&str>) -> Config {
        let mut c = Config::new();
        c.circle.endpoint = endpoint.map(str::to_string);
        c.circle.tcp_endpoint = tcp.map(str::to_string);
        c.circle.token = token.map(str::to_string);
        c.source = Some("/etc/circle/main.ini".into());
        c
    }

    #[cfg(unix)]
    #[test]
    fn tcp_needs_loopback_and_token() {
        assert_eq!(tcp_endpoint(&with_circle(None, None, None)).unwrap(), None);
        let ok = tcp_endpoint(&with_circle(None, Some("127.0.0.1:0"), Some("s"))).unwrap();
        assert_eq!(ok, Some(("127.0.0.1:0".parse().unwrap(), "s".to_string())));
        assert!(tcp_endpoint(&with_circle(None, Some("127.0.0.1:0"), None)).is_err());
        assert!(tcp_endpoint(&with_circle(None, Some("0.0.0.0:5555"), Some("s"))).is_err());
        // A circus-style `endpoint = tcp://...` without token: ignored, local socket used.
        let circus = with_circle(Some("tcp://127.0.0.1:5555"), None, None);
        assert_eq!(tcp_endpoint(&circus).unwrap(), None);
        assert_eq!(
            local_endpoint(&circus).unwrap(),
            default_endpoint(Some(Path::new("/etc/circle/main.ini")))
        );
        assert_eq!(
            local_endpoint(&with_circle(Some("run/c.sock"), None, None)).unwrap(),
            Endpoint::Unix("/etc/circle/run/c.sock".into())
        );
    }
}

#[cfg(all(test, unix))]
mod socket_tests {
    use std::future::Future;
    use std::pin::Pin;

    use super::*;

    struct Names;
    impl Handler for Names {
        fn handle(&self, request: Request) -> Pin<Box<dyn Future<Output = Reply> + Send + '_>> {
            Box::pin(async move {
                match request {
                    Request::Info => Response::Info(DaemonInfo {
                        pid: 4242,
                        version: "t".into(),
                        protocol: PROTOCOL_VERSION,
                        config: None,
                    })
                    .into(),
                    Request::Status { name: Some(n) } => {
                        Response::error(ErrorKind::UnknownWatcher, format!("unknown watcher {n:?}"))
                            .into()
                    }
                    _ => Response::List {
                        names: vec!["a".into()],
                    }
                    .into(),
                }
            })
        }
    }

    #[tokio::test]
    async fn client_and_server_over_a_socket_and_tcp() {
        let tmp = tempfile::tempdir().unwrap();
        let sock = tmp.path().join("c.sock");
        let ep = Endpoint::Unix(sock.clone());
        let tcp = ("127.0.0.1:0".parse().unwrap(), "tok".to_string());
        let server = serve_on(Names, ep.clone(), Some(tcp)).await.unwrap();
        assert_eq!(server.endpoint(), &ep);

        let mut c = Client::connect(&ep).await.unwrap();
        assert_eq!(c.info().await.unwrap().pid, 4242);
        match c.status(Some("x")).await.unwrap_err() {
            Error::Remote { reply, .. } => assert_eq!(reply.kind, ErrorKind::UnknownWatcher),
            other => panic!("{other}"),
        }
        assert_eq!(
            c.call(&Request::List).await.unwrap(),
            Response::List {
                names: vec!["a".into()]
            }
        );

        // A second server on the same socket: refused, naming the first one's pid.
        let e = serve_on(Names, ep.clone(), None).await.unwrap_err();
        assert!(e.to_string().ends_with("already running (pid 4242)"), "{e}");

        let addr = server.tcp_addr().unwrap();
        assert!(addr.ip().is_loopback() && addr.port() != 0);
        let mut t = Client::connect_tcp(addr, "tok").await.unwrap();
        assert_eq!(t.info().await.unwrap().pid, 4242);
        assert!(matches!(
            Client::connect_tcp(addr, "nope").await.unwrap_err(),
            Error::Remote { .. }
        ));
        assert!(Client::connect(&Endpoint::Tcp(addr)).await.is_err());

        drop(server);
        assert!(!sock.exists(), "socket removed with the server");
        assert!(matches!(
            Client::connect(&ep).await.unwrap_err(),
            Error::Unreachable { .. }
        ));
    }
}
