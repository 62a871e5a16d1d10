//! tern's control API: the gRPC service ternd serves on its control socket, and the client
//! side `tern` (and the integration tests) use.
//!
//! The service is defined in `proto/tern.proto` (package `tern.v1`, service `Control`),
//! compiled at build time by protox, so building needs no `protoc`. The transport is a Unix
//! socket: the daemon's `--control PATH`; file permissions say who may manage the router.
//!
//! - [`pb`]: the generated messages, [`ControlClient`] and [`ControlServer`];
//! - [`connect`] / [`serve`]: the Unix socket on either side ([`serve_incoming`]: on
//!   connections the caller accepts);
//! - [`Blocking`]: a synchronous client with its own small runtime, for the shell (whose
//!   line editor calls back synchronously for Tab completion) and for tests.

#![forbid(unsafe_code)]

use std::future::Future;
use std::path::{Path, PathBuf};

use hyper_util::rt::TokioIo;
use tokio::net::{UnixListener, UnixStream};
use tonic::transport::{Channel, Endpoint, Server};

/// The generated protocol: messages, client and server.
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod pb {
    tonic::include_proto!("tern.v1");
}

pub use pb::control_client::ControlClient;
pub use pb::control_server::{Control, ControlServer};
pub use tonic;

/// Why a call failed: the socket could not be reached, or the daemon answered with an error.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// No daemon at the socket (or the connection broke).
    #[error("cannot reach ternd at {path}: {source}")]
    Connect {
        /// The control socket.
        path: PathBuf,
        /// What happened.
        source: tonic::transport::Error,
    },
    /// The daemon refused the call (an unknown session, a bad request).
    #[error("ternd: {}", .0.message())]
    Status(#[from] tonic::Status),
    /// The client's own runtime could not start.
    #[error("tern: runtime: {0}")]
    Runtime(#[from] std::io::Error),
}

/// Connects to the control socket at `path`.
pub async fn connect(path: impl AsRef<Path>) -> Result<ControlClient<Channel>, ClientError> {
    let path = path.as_ref().to_path_buf();
    let p = path.clone();
    // The URI is required by the HTTP/2 layer and otherwise unused: the connector below
    // always dials the Unix socket.
    let channel = Endpoint::from_static("http://ternd.invalid")
        .connect_with_connector(tower::service_fn(move |_| {
            let p = p.clone();
            async move { Ok::<_, std::io::Error>(TokioIo::new(UnixStream::connect(p).await?)) }
        }))
        .await
        .map_err(|source| ClientError::Connect { path, source })?;
    Ok(ControlClient::new(channel))
}

/// Serves `svc` on an already bound Unix socket until `shutdown` completes.
pub async fn serve<S: Control>(
    listener: UnixListener,
    svc: S,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), tonic::transport::Error> {
    serve_incoming(
        tokio_stream::wrappers::UnixListenerStream::new(listener),
        svc,
        shutdown,
    )
    .await
}

/// Serves `svc` on the connections `incoming` yields until `shutdown` completes: a caller
/// that accepts them itself (to pause after an accept error, say) hands them over here.
pub async fn serve_incoming<S: Control>(
    incoming: impl tokio_stream::Stream<Item = std::io::Result<UnixStream>>,
    svc: S,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), tonic::transport::Error> {
    Server::builder()
        .add_service(ControlServer::new(svc))
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await
}

/// A synchronous client: each call blocks on a runtime of its own. Not for use inside an
/// async context.
pub struct Blocking {
    rt: tokio::runtime::Runtime,
    client: ControlClient<Channel>,
}

impl std::fmt::Debug for Blocking {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Blocking").finish_non_exhaustive()
    }
}

impl Blocking {
    /// Connects to the control socket at `path`.
    pub fn connect(path: impl AsRef<Path>) -> Result<Blocking, ClientError> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let client = rt.block_on(connect(path))?;
        Ok(Blocking { rt, client })
    }

    /// Opens a management session (user view).
    pub fn open_session(&mut self, client: &str) -> Result<pb::OpenSessionReply, ClientError> {
        let req = pb::OpenSessionRequest {
            client: client.to_owned(),
        };
        Ok(self
            .rt
            .block_on(self.client.open_session(req))?
            .into_inner())
    }

    /// Runs one line in a session, as if typed.
    pub fn execute(
        &mut self,
        session: u64,
        line: &str,
        json: bool,
    ) -> Result<pb::ExecuteReply, ClientError> {
        self.execute_answer(session, line, json, "")
    }

    /// Runs a line again with the answer to the question its previous reply asked.
    pub fn execute_answer(
        &mut self,
        session: u64,
        line: &str,
        json: bool,
        answer: &str,
    ) -> Result<pb::ExecuteReply, ClientError> {
        let mut output = String::new();
        let mut last = self.execute_with(session, line, json, answer, &mut |part| {
            output.push_str(part);
            true
        })?;
        output.push_str(&last.output);
        last.output = output;
        Ok(last)
    }

    /// Runs a line, handing its output to `write` part by part as it arrives; `write`
    /// returns false to stop the output (the daemon stops the display). The last reply
    /// comes back with its own part of the output not yet written (`None`: stopped).
    pub fn execute_with(
        &mut self,
        session: u64,
        line: &str,
        json: bool,
        answer: &str,
        write: &mut dyn FnMut(&str) -> bool,
    ) -> Result<pb::ExecuteReply, ClientError> {
        let req = pb::ExecuteRequest {
            session,
            line: line.to_owned(),
            json,
            answer: answer.to_owned(),
        };
        let client = &mut self.client;
        self.rt.block_on(async move {
            let mut stream = client.execute(req).await?.into_inner();
            let mut prev: Option<pb::ExecuteReply> = None;
            while let Some(r) = stream.message().await? {
                if let Some(p) = prev.take()
                    && !write(&p.output)
                {
                    return Ok(pb::ExecuteReply {
                        prompt: r.prompt,
                        ..Default::default()
                    });
                }
                prev = Some(r);
            }
            Ok(prev.unwrap_or_default())
        })
    }

    /// `?` help for the text typed so far.
    pub fn help(&mut self, session: u64, partial: &str) -> Result<pb::HelpReply, ClientError> {
        let req = pb::HelpRequest {
            session,
            partial: partial.to_owned(),
        };
        Ok(self.rt.block_on(self.client.help(req))?.into_inner())
    }

    /// Tab completion of the last word.
    pub fn complete(
        &mut self,
        session: u64,
        partial: &str,
    ) -> Result<pb::CompleteReply, ClientError> {
        let req = pb::CompleteRequest {
            session,
            partial: partial.to_owned(),
        };
        Ok(self.rt.block_on(self.client.complete(req))?.into_inner())
    }

    /// Ends a session.
    pub fn close_session(&mut self, session: u64) -> Result<(), ClientError> {
        let req = pb::CloseSessionRequest { session };
        self.rt.block_on(self.client.close_session(req))?;
        Ok(())
    }

    /// Runs one `display` command outside any session, its whole output in one reply.
    pub fn display(&mut self, command: &str, json: bool) -> Result<pb::DisplayReply, ClientError> {
        let mut output = String::new();
        let error = self.display_with(command, json, &mut |part| {
            output.push_str(part);
            true
        })?;
        Ok(pb::DisplayReply { output, error })
    }

    /// Runs one `display` command outside any session, handing its output to `write` part
    /// by part as it arrives (`write` returns false to stop it); the error, if the daemon
    /// refused the command.
    pub fn display_with(
        &mut self,
        command: &str,
        json: bool,
        write: &mut dyn FnMut(&str) -> bool,
    ) -> Result<Option<pb::LineError>, ClientError> {
        let req = pb::DisplayRequest {
            command: command.to_owned(),
            json,
        };
        let client = &mut self.client;
        self.rt.block_on(async move {
            let mut stream = client.display(req).await?.into_inner();
            while let Some(r) = stream.message().await? {
                if !r.output.is_empty() && !write(&r.output) {
                    return Ok(None);
                }
                if r.error.is_some() {
                    return Ok(r.error);
                }
            }
            Ok(None)
        })
    }

    /// Writes an MRT dump of the routing tables (`path` empty: into the daemon's MRT
    /// directory).
    pub fn mrt_dump(&mut self, path: &str) -> Result<pb::MrtDumpReply, ClientError> {
        let req = pb::MrtDumpRequest {
            path: path.to_owned(),
        };
        Ok(self.rt.block_on(self.client.mrt_dump(req))?.into_inner())
    }
}
