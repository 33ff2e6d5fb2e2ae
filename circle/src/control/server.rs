//! The control server: accepts connections on the local socket (or pipe) and, when configured,
//! on a loopback TCP port, and answers each connection's requests in its own task.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinHandle;

use super::Endpoint;
use super::protocol::{ErrorKind, MAX_LINE, Request, Response};
use crate::error::{Error, Result};

/// At most this many connections are served at once; more wait to be accepted.
const MAX_CONNECTIONS: usize = 128;

/// What a [`Handler`] answers to one request.
#[non_exhaustive]
pub enum Reply {
    /// One response line.
    One(Response),
    /// These lines, then every line the receiver yields until it closes or the client hangs up
    /// (`tail -f`).
    Stream(Vec<Response>, mpsc::Receiver<Response>),
    /// One response line, then this future runs (to its end) before the connection is read
    /// again: `quit` answers first, then stops everything, and the client sees the connection
    /// close once `circled` has stopped.
    Then(Response, Pin<Box<dyn Future<Output = ()> + Send>>),
}

impl From<Response> for Reply {
    fn from(r: Response) -> Reply {
        Reply::One(r)
    }
}

/// Answers requests. [`crate::control::serve`] uses one backed by a [`crate::Supervisor`];
/// tests and embedders may provide their own.
pub trait Handler: Send + Sync + 'static {
    /// Answers one request. Must not fail: errors are [`Response::Error`] replies.
    fn handle(&self, request: Request) -> Pin<Box<dyn Future<Output = Reply> + Send + '_>>;
}

/// Reads one line of at most `max` bytes (newline excluded) into `buf`, which is cleared first.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum LineRead {
    /// End of stream before any byte of a new line.
    Eof,
    /// A line is in the buffer (a last line without a newline counts).
    Line,
    /// The line was longer than `max`; it was read to its end and thrown away.
    TooLong,
}

pub(crate) async fn read_line_limited<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    buf: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<LineRead> {
    buf.clear();
    let mut too_long = false;
    let mut any = false;
    loop {
        let chunk = reader.fill_buf().await?;
        if chunk.is_empty() {
            return Ok(match (any, too_long) {
                (false, _) => LineRead::Eof,
                (true, true) => LineRead::TooLong,
                (true, false) => LineRead::Line,
            });
        }
        any = true;
        let (take, done) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (chunk.len(), false),
        };
        if !too_long {
            let body = if done { take - 1 } else { take };
            if buf.len() + body > max {
                too_long = true;
                buf.clear();
            } else {
                buf.extend_from_slice(&chunk[..body]);
            }
        }
        reader.consume(take);
        if done {
            return Ok(if too_long {
                LineRead::TooLong
            } else {
                LineRead::Line
            });
        }
    }
}

/// Compares two secrets in time that depends only on their lengths.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    // black_box keeps the optimizer from turning the fold into an early-exit comparison.
    std::hint::black_box(diff) == 0
}

/// Serves one connection until the client hangs up.
pub(crate) async fn serve_connection<S, H>(stream: S, handler: Arc<H>, token: Option<Arc<String>>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
    H: Handler + ?Sized,
{
    let (read, mut write) = tokio::io::split(stream);
    let mut reader = BufReader::with_capacity(16 * 1024, read);
    let mut authed = token.is_none();
    let mut buf = Vec::new();
    loop {
        let request = match read_line_limited(&mut reader, &mut buf, MAX_LINE).await {
            Err(_) | Ok(LineRead::Eof) => return,
            Ok(LineRead::TooLong) => Err(super::protocol::ErrorReply::new(
                ErrorKind::TooLong,
                format!("request line longer than {MAX_LINE} bytes"),
            )),
            Ok(LineRead::Line) => {
                if buf.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                Request::from_line(&buf)
            }
        };
        let reply = match request {
            Ok(Request::Auth { token: given }) => match &token {
                Some(want) if !constant_time_eq(given.as_bytes(), want.as_bytes()) => {
                    refuse(reader, write, "wrong token").await;
                    return;
                }
                _ => {
                    authed = true;
                    Reply::One(Response::Done)
                }
            },
            _ if !authed => {
                refuse(
                    reader,
                    write,
                    "this endpoint needs {\"command\":\"auth\",\"token\":...} first",
                )
                .await;
                return;
            }
            Err(e) => Reply::One(Response::Error(e)),
            Ok(request) => handler.handle(request).await,
        };
        match reply {
            Reply::One(r) => {
                if send(&mut write, &r).await.is_err() {
                    return;
                }
            }
            Reply::Then(r, after) => {
                let _ = send(&mut write, &r).await;
                after.await;
            }
            Reply::Stream(first, mut rx) => {
                for r in &first {
                    if send(&mut write, r).await.is_err() {
                        return;
                    }
                }
                // Stream until the source ends or the client goes away; a client that hangs up
                // is noticed by the read side reaching EOF.
                let mut probe = [0u8; 1];
                loop {
                    tokio::select! {
                        next = rx.recv() => match next {
                            Some(r) => if send(&mut write, &r).await.is_err() { return },
                            None => break,
                        },
                        n = tokio::io::AsyncReadExt::read(reader.get_mut(), &mut probe) => {
                            if matches!(n, Ok(0) | Err(_)) { return }
                        }
                    }
                }
            }
        }
    }
}

/// Answers `unauthorized` and closes gracefully: end of our output first, then what the
/// client still sends is read and dropped (for a second at most), so that closing does not
/// reset the connection and destroy the answer before the client reads it.
async fn refuse<R, W>(mut reader: BufReader<R>, mut write: W, message: &str)
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let _ = send(
        &mut write,
        &Response::error(ErrorKind::Unauthorized, message),
    )
    .await;
    let _ = write.shutdown().await;
    let drain = async {
        let mut sink = [0u8; 4096];
        while matches!(
            tokio::io::AsyncReadExt::read(&mut reader, &mut sink).await,
            Ok(n) if n > 0
        ) {}
    };
    let _ = tokio::time::timeout(std::time::Duration::from_secs(1), drain).await;
}

async fn send<W: AsyncWrite + Unpin>(w: &mut W, r: &Response) -> std::io::Result<()> {
    let line = r.to_line().map_err(std::io::Error::other)?;
    w.write_all(line.as_bytes()).await?;
    w.flush().await
}

/// A running control server. Dropping it (or [`ControlServer::close`]) stops accepting,
/// ends every connection and removes the socket file.
#[derive(Debug)]
pub struct ControlServer {
    endpoint: Endpoint,
    tcp: Option<SocketAddr>,
    tasks: Vec<JoinHandle<()>>,
    #[cfg(unix)]
    socket_file: Option<std::path::PathBuf>,
}

impl ControlServer {
    /// The local endpoint it listens on.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// The loopback TCP address it also listens on, if configured (the real port when `:0`
    /// was asked).
    pub fn tcp_addr(&self) -> Option<SocketAddr> {
        self.tcp
    }

    /// Stops serving now.
    pub fn close(self) {}
}

impl Drop for ControlServer {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
        #[cfg(unix)]
        if let Some(p) = self.socket_file.take() {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Where to listen.
#[derive(Debug, Clone)]
pub(crate) struct Listen {
    pub endpoint: Endpoint,
    /// Loopback TCP address and its token.
    pub tcp: Option<(SocketAddr, String)>,
}

/// Binds every endpoint, then serves them on the current tokio runtime.
pub(crate) async fn start<H: Handler>(listen: Listen, handler: Arc<H>) -> Result<ControlServer> {
    let limit = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let mut tasks = Vec::new();
    let mut tcp_addr = None;
    #[cfg(unix)]
    let socket_file;

    match &listen.endpoint {
        #[cfg(unix)]
        Endpoint::Unix(path) => {
            let listener = super::unix::bind(path).await?;
            socket_file = Some(path.clone());
            let (handler, limit) = (handler.clone(), limit.clone());
            tasks.push(tokio::spawn(async move {
                let mut conns = tokio::task::JoinSet::new();
                loop {
                    let Ok(permit) = limit.clone().acquire_owned().await else {
                        return;
                    };
                    match listener.accept().await {
                        Ok((stream, _)) => {
                            let h = handler.clone();
                            conns.spawn(async move {
                                serve_connection(stream, h, None).await;
                                drop(permit);
                            });
                        }
                        Err(e) => {
                            tracing::warn!("control socket: accept failed: {e}");
                            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        }
                    }
                    while conns.try_join_next().is_some() {}
                }
            }));
        }
        #[cfg(windows)]
        Endpoint::Pipe(name) => {
            match super::windows::serve_pipe(name, handler.clone(), limit.clone()) {
                Ok(t) => tasks.push(t),
                Err(Error::AlreadyRunning { pid: None, what }) => {
                    // Ask the instance that owns the pipe who it is.
                    let pid = match super::Client::connect(&listen.endpoint).await {
                        Ok(mut c) => c.info().await.ok().map(|i| i.pid),
                        Err(_) => None,
                    };
                    return Err(Error::AlreadyRunning { pid, what });
                }
                Err(e) => return Err(e),
            }
        }
        other => {
            return Err(Error::Endpoint {
                endpoint: other.to_string(),
                source: std::io::Error::new(
                    std::io::ErrorKind::Unsupported,
                    "this kind of endpoint is not available on this OS",
                ),
            });
        }
    }

    if let Some((addr, token)) = listen.tcp {
        if !addr.ip().is_loopback() {
            return Err(Error::Endpoint {
                endpoint: format!("tcp://{addr}"),
                source: std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    "the TCP control endpoint must be a loopback address (127.0.0.1 or ::1)",
                ),
            });
        }
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| Error::Endpoint {
                endpoint: format!("tcp://{addr}"),
                source,
            })?;
        tcp_addr = listener.local_addr().ok();
        let token = Arc::new(token);
        tasks.push(tokio::spawn(async move {
            let mut conns = tokio::task::JoinSet::new();
            loop {
                let Ok(permit) = limit.clone().acquire_owned().await else {
                    return;
                };
                match listener.accept().await {
                    Ok((stream, peer)) => {
                        if !peer.ip().is_loopback() {
                            continue;
                        }
                        let (h, t) = (handler.clone(), token.clone());
                        conns.spawn(async move {
                            serve_connection(stream, h, Some(t)).await;
                            drop(permit);
                        });
                    }
                    Err(e) => {
                        tracing::warn!("control TCP endpoint: accept failed: {e}");
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    }
                }
                while conns.try_join_next().is_some() {}
            }
        }));
    }

    Ok(ControlServer {
        endpoint: listen.endpoint,
        tcp: tcp_addr,
        tasks,
        #[cfg(unix)]
        socket_file,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn line_reader_limits_and_resyncs() {
        let mut input: Vec<u8> = b"one\n".to_vec();
        input.extend(std::iter::repeat_n(b'x', 100));
        input.extend(b"\ntwo\r\nlast");
        let mut r = BufReader::with_capacity(7, &input[..]);
        let mut buf = Vec::new();
        assert_eq!(
            read_line_limited(&mut r, &mut buf, 10).await.unwrap(),
            LineRead::Line
        );
        assert_eq!(buf, b"one");
        assert_eq!(
            read_line_limited(&mut r, &mut buf, 10).await.unwrap(),
            LineRead::TooLong
        );
        assert_eq!(
            read_line_limited(&mut r, &mut buf, 10).await.unwrap(),
            LineRead::Line
        );
        assert_eq!(buf, b"two\r");
        assert_eq!(
            read_line_limited(&mut r, &mut buf, 10).await.unwrap(),
            LineRead::Line
        );
        assert_eq!(buf, b"last");
        assert_eq!(
            read_line_limited(&mut r, &mut buf, 10).await.unwrap(),
            LineRead::Eof
        );
    }

    #[tokio::test]
    async fn line_of_exactly_max_is_accepted() {
        let input = b"0123456789\n01234567890\n";
        let mut r = BufReader::with_capacity(3, &input[..]);
        let mut buf = Vec::new();
        assert_eq!(
            read_line_limited(&mut r, &mut buf, 10).await.unwrap(),
            LineRead::Line
        );
        assert_eq!(
            read_line_limited(&mut r, &mut buf, 10).await.unwrap(),
            LineRead::TooLong
        );
    }

    #[test]
    fn constant_time_eq_compares() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secret2"));
        assert!(constant_time_eq(b"", b""));
    }

    /// Echoes the request's command back as a `List`, fails `signal`, streams `tail`.
    struct Fake;
    impl Handler for Fake {
        fn handle(&self, request: Request) -> Pin<Box<dyn Future<Output = Reply> + Send + '_>> {
            Box::pin(async move {
                match request {
                    Request::Signal { .. } => {
                        Response::error(ErrorKind::UnknownWatcher, "unknown watcher").into()
                    }
                    Request::Tail { .. } => {
                        let (tx, rx) = mpsc::channel(4);
                        tokio::spawn(async move {
                            for i in 0..3 {
                                let _ = tx
                                    .send(Response::Output {
                                        data: i.to_string(),
                                    })
                                    .await;
                            }
                        });
                        Reply::Stream(vec![Response::Output { data: "a".into() }], rx)
                    }
                    other => Response::List {
                        names: vec![format!("{other:?}")],
                    }
                    .into(),
                }
            })
        }
    }

    async fn talk(input: &[u8], token: Option<&str>) -> Vec<Response> {
        let (client, server) = tokio::io::duplex(64 * 1024);
        let token = token.map(|t| Arc::new(t.to_string()));
        let srv = tokio::spawn(serve_connection(server, Arc::new(Fake), token));
        let (r, mut w) = tokio::io::split(client);
        let input = input.to_vec();
        let writer = tokio::spawn(async move {
            w.write_all(&input).await.unwrap();
            w.shutdown().await.unwrap();
            w
        });
        let mut lines = BufReader::new(r).lines();
        let mut out = Vec::new();
        while let Some(l) = lines.next_line().await.unwrap() {
            out.push(Response::from_line(l.as_bytes()).unwrap());
        }
        let _w = writer.await.unwrap();
        srv.await.unwrap();
        out
    }

    fn kind(r: &Response) -> Option<ErrorKind> {
        match r {
            Response::Error(e) => Some(e.kind),
            _ => None,
        }
    }

    #[tokio::test]
    async fn garbage_gets_errors_and_the_connection_goes_on() {
        let mut input = b"garbage\n\n{\"command\":\"nope\"}\n".to_vec();
        input.extend(vec![b'{'; MAX_LINE + 10]);
        input.extend(
            b"\n{\"command\":\"signal\",\"name\":\"x\",\"signal\":\"HUP\"}\n{\"command\":\"list\"}",
        );
        let out = talk(&input, None).await;
        let kinds: Vec<_> = out.iter().map(kind).collect();
        assert_eq!(
            kinds,
            [
                Some(ErrorKind::BadRequest),
                Some(ErrorKind::UnknownCommand),
                Some(ErrorKind::TooLong),
                Some(ErrorKind::UnknownWatcher),
                None
            ]
        );
        assert_eq!(
            out[4],
            Response::List {
                names: vec!["List".into()]
            }
        );
    }

    #[tokio::test]
    async fn token_is_required_and_checked() {
        let out = talk(
            b"{\"command\":\"list\"}\n{\"command\":\"list\"}\n",
            Some("s3"),
        )
        .await;
        assert_eq!(out.len(), 1, "closed after the refusal: {out:?}");
        assert_eq!(kind(&out[0]), Some(ErrorKind::Unauthorized));

        let out = talk(
            b"{\"command\":\"auth\",\"token\":\"bad\"}\n{\"command\":\"list\"}\n",
            Some("s3"),
        )
        .await;
        assert_eq!(out.len(), 1);
        assert_eq!(kind(&out[0]), Some(ErrorKind::Unauthorized));

        let out = talk(
            b"{\"command\":\"auth\",\"token\":\"s3\"}\n{\"command\":\"list\"}\n",
            Some("s3"),
        )
        .await;
        assert_eq!(out.len(), 2);
        assert_eq!(out[0], Response::Done);
        assert_eq!(kind(&out[1]), None);
    }

    #[tokio::test]
    async fn streams_until_the_source_ends() {
        let out = talk(
            b"{\"command\":\"tail\",\"name\":\"w\",\"follow\":true}\n",
            None,
        )
        .await;
        let data: Vec<_> = out
            .iter()
            .map(|r| match r {
                Response::Output { data } => data.as_str(),
                _ => "?",
            })
            .collect();
        // The client half-closed its side right after the request, so the stream may end
        // early; whatever arrived is in order and starts with the snapshot.
        assert_eq!(data.first(), Some(&"a"));
        let rest: Vec<_> = data[1..].to_vec();
        assert!(["0", "1", "2"].starts_with(&rest), "{rest:?}");
    }
}
