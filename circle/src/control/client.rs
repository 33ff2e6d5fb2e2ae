//! A client for `circled`'s control channel, as `circlectl` uses it.

use std::net::SocketAddr;

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, BufReader, ReadHalf, WriteHalf};

use super::Endpoint;
use super::protocol::{DaemonInfo, ReloadSummary, Request, Response, WatcherInfo};
use super::server::{LineRead, read_line_limited};
use crate::error::{Error, Result};

/// Responses may be longer than requests (the status of thousands of processes).
const MAX_RESPONSE_LINE: usize = 64 * 1024 * 1024;

trait Conn: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Conn for T {}

/// A connection to `circled`.
///
/// ```no_run
/// # async fn demo() -> circle::Result<()> {
/// use circle::control::{Client, Endpoint};
/// let mut c = Client::connect(&Endpoint::Unix("/tmp/circle-1000/tour.sock".into())).await?;
/// for w in c.status(None).await? {
///     println!("{} {}", w.name, w.state);
/// }
/// # Ok(()) }
/// ```
pub struct Client {
    endpoint: String,
    reader: BufReader<ReadHalf<Box<dyn Conn>>>,
    writer: WriteHalf<Box<dyn Conn>>,
    buf: Vec<u8>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Connects to the local socket or pipe.
    ///
    /// # Errors
    /// [`Error::Unreachable`] when nothing answers there.
    ///
    /// # Platform behavior
    /// Unix: a Unix socket path. Windows: a named pipe (`\\.\pipe\...`), waiting up to five
    /// seconds while every instance is busy. A `tcp://` endpoint needs [`Client::connect_tcp`].
    pub async fn connect(endpoint: &Endpoint) -> Result<Client> {
        let name = endpoint.to_string();
        let unreachable = |source: std::io::Error| Error::Unreachable {
            endpoint: name.clone(),
            source,
        };
        let conn: Box<dyn Conn> = match endpoint {
            #[cfg(unix)]
            Endpoint::Unix(path) => Box::new(
                tokio::net::UnixStream::connect(path)
                    .await
                    .map_err(unreachable)?,
            ),
            #[cfg(windows)]
            Endpoint::Pipe(pipe) => {
                Box::new(super::windows::connect(pipe).await.map_err(unreachable)?)
            }
            Endpoint::Tcp(_) => {
                return Err(unreachable(std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    "a TCP endpoint needs a token: use Client::connect_tcp",
                )));
            }
            #[allow(unreachable_patterns)]
            _ => {
                return Err(unreachable(std::io::Error::new(
                    std::io::ErrorKind::Unsupported,
                    "this kind of endpoint is not available on this OS",
                )));
            }
        };
        Ok(Client::from_conn(name, conn))
    }

    /// Connects to the loopback TCP endpoint and authenticates with `token`.
    ///
    /// # Errors
    /// [`Error::Unreachable`] when nothing answers; [`Error::Remote`] when the token is refused.
    pub async fn connect_tcp(addr: SocketAddr, token: &str) -> Result<Client> {
        let name = format!("tcp://{addr}");
        let stream = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|source| Error::Unreachable {
                endpoint: name.clone(),
                source,
            })?;
        let mut c = Client::from_conn(name, Box::new(stream));
        c.expect_done(&Request::Auth {
            token: token.to_string(),
        })
        .await?;
        Ok(c)
    }

    fn from_conn(endpoint: String, conn: Box<dyn Conn>) -> Client {
        let (r, w) = tokio::io::split(conn);
        Client {
            endpoint,
            reader: BufReader::new(r),
            writer: w,
            buf: Vec::new(),
        }
    }

    /// Where this client is connected.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Sends one request without waiting for the answer.
    ///
    /// # Errors
    /// [`Error::Unreachable`] when the connection is lost.
    pub async fn send(&mut self, request: &Request) -> Result<()> {
        let line = request
            .to_line()
            .map_err(|e| self.lost(std::io::Error::other(e)))?;
        let r = async {
            self.writer.write_all(line.as_bytes()).await?;
            self.writer.flush().await
        }
        .await;
        r.map_err(|e| self.lost(e))
    }

    /// Reads the next response; `None` when `circled` closed the connection.
    ///
    /// # Errors
    /// [`Error::Unreachable`] when the connection fails, [`Error::Protocol`] when the line is
    /// not a response.
    pub async fn recv(&mut self) -> Result<Option<Response>> {
        match read_line_limited(&mut self.reader, &mut self.buf, MAX_RESPONSE_LINE).await {
            Err(e) => Err(self.lost(e)),
            Ok(LineRead::Eof) => Ok(None),
            Ok(LineRead::TooLong) => Err(self.protocol("response line too long")),
            Ok(LineRead::Line) => Response::from_line(&self.buf)
                .map(Some)
                .map_err(|e| self.protocol(&format!("bad response: {e}"))),
        }
    }

    /// Sends a request and reads its (first) response. A [`Response::Error`] is returned as
    /// is; the typed helpers below turn it into [`Error::Remote`].
    ///
    /// # Errors
    /// [`Error::Unreachable`] or [`Error::Protocol`], also when `circled` hangs up instead
    /// of answering.
    pub async fn call(&mut self, request: &Request) -> Result<Response> {
        self.send(request).await?;
        match self.recv().await? {
            Some(r) => Ok(r),
            None => Err(self.lost(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "connection closed before an answer",
            ))),
        }
    }

    /// [`Client::call`], with [`Response::Error`] turned into [`Error::Remote`].
    ///
    /// # Errors
    /// As [`Client::call`], and [`Error::Remote`].
    pub async fn call_ok(&mut self, request: &Request) -> Result<Response> {
        match self.call(request).await? {
            Response::Error(reply) => Err(Error::Remote {
                endpoint: self.endpoint.clone(),
                reply,
            }),
            r => Ok(r),
        }
    }

    /// Sends a request that answers [`Response::Done`].
    ///
    /// # Errors
    /// As [`Client::call_ok`]; [`Error::Protocol`] for any other answer.
    pub async fn expect_done(&mut self, request: &Request) -> Result<()> {
        match self.call_ok(request).await? {
            Response::Done => Ok(()),
            other => Err(self.unexpected(&other)),
        }
    }

    /// Who is answering.
    ///
    /// # Errors
    /// As [`Client::call_ok`].
    pub async fn info(&mut self) -> Result<DaemonInfo> {
        match self.call_ok(&Request::Info).await? {
            Response::Info(i) => Ok(i),
            other => Err(self.unexpected(&other)),
        }
    }

    /// The status of every watcher, or of one.
    ///
    /// # Errors
    /// As [`Client::call_ok`]; an unknown watcher is an [`Error::Remote`] of kind
    /// [`super::ErrorKind::UnknownWatcher`].
    pub async fn status(&mut self, name: Option<&str>) -> Result<Vec<WatcherInfo>> {
        match self
            .call_ok(&Request::Status {
                name: name.map(str::to_string),
            })
            .await?
        {
            Response::Status { watchers } => Ok(watchers),
            other => Err(self.unexpected(&other)),
        }
    }

    /// Re-reads the configuration file and applies the difference.
    ///
    /// # Errors
    /// As [`Client::call_ok`]; a refused configuration is an [`Error::Remote`] of kind
    /// [`super::ErrorKind::Config`] listing every `file:line` problem.
    pub async fn reload(&mut self) -> Result<ReloadSummary> {
        match self.call_ok(&Request::Reload).await? {
            Response::Reloaded(s) => Ok(s),
            other => Err(self.unexpected(&other)),
        }
    }

    /// Waits until `circled` closes the connection (after `quit`).
    ///
    /// # Errors
    /// [`Error::Unreachable`] when the connection fails otherwise.
    pub async fn wait_closed(&mut self) -> Result<()> {
        while self.recv().await?.is_some() {}
        Ok(())
    }

    fn lost(&self, source: std::io::Error) -> Error {
        Error::Unreachable {
            endpoint: self.endpoint.clone(),
            source,
        }
    }

    fn protocol(&self, message: &str) -> Error {
        Error::Protocol {
            endpoint: self.endpoint.clone(),
            message: message.to_string(),
        }
    }

    fn unexpected(&self, r: &Response) -> Error {
        self.protocol(&format!("unexpected answer {r:?}"))
    }
}
