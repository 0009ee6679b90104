//! `POST /api/backup`: a consistent, encrypted backup of the running node, streamed back.
//!
//! Only the node's own token may ask (the CLI on the node's machine): a backup holds the Party's
//! keys, which no officer account reaches otherwise. The snapshot is taken on the engine's
//! thread; the copies and the archive are made on a blocking thread while the engine goes on.

use crate::audit::Event;
use std::io::{self, Write};

use axum::body::{Body, Bytes};
use axum::extract::{Extension, State};
use axum::response::{IntoResponse, Response};
use axum::{Json, http::header};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use super::{AppError, AppState, Caller};
use crate::backup::{self, Protect};

/// How the archive is to be encrypted: a passphrase, or age recipients.
#[derive(Serialize, Deserialize)]
pub struct BackupRequest {
    /// Passphrase (age scrypt).
    pub passphrase: Option<String>,
    /// age recipients (`age1...`).
    #[serde(default)]
    pub recipients: Vec<String>,
}

/// Bytes sent per piece of the response.
const PIECE: usize = 256 * 1024;

/// Sends what is written to it as pieces of a response body.
struct ToBody {
    tx: mpsc::Sender<Result<Bytes, io::Error>>,
    buf: Vec<u8>,
}

impl ToBody {
    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let piece = Bytes::from(std::mem::take(&mut self.buf));
        self.tx.blocking_send(Ok(piece)).map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the client left"))
    }
}

impl Write for ToBody {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(b);
        if self.buf.len() >= PIECE {
            self.send()?;
        }
        Ok(b.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        self.send()
    }
}

pub async fn backup(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    Json(req): Json<BackupRequest>,
) -> Result<Response, AppError> {
    if caller.account.is_some() {
        return Err(AppError::Forbidden(
            "a backup holds the node's keys: only the node's own token (the CLI on the node's machine, without --officer) may take one".into(),
        ));
    }
    let protect = match (req.passphrase, req.recipients.is_empty()) {
        (Some(p), true) if !p.is_empty() => Protect::Passphrase(p.into()),
        (None, false) => {
            Protect::Recipients(backup::recipients(&req.recipients).map_err(|e| AppError::BadRequest(e.to_string()))?)
        }
        _ => return Err(AppError::BadRequest("give either a passphrase or age recipients".into())),
    };
    let snapshot = s.engine.store_snapshot().await?;
    let (dir, accounts) = (s.data_dir.clone(), s.accounts.clone());
    let staged = tokio::task::spawn_blocking(move || backup::stage_running(&dir, snapshot, &accounts))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?
        .map_err(|e| AppError::Internal(e.to_string()))?;
    // On the record before a byte leaves: the archive holds the node's, the Party's and the
    // items' keys.
    let event =
        Event::BackupTaken { taken_while: "running".into(), protected_by: protect.describe(), items: staged.items() };
    crate::api::login_audit::record(&s, event).await?;
    let (node, party) = (s.public.peer_id.to_string(), s.party.id.to_string());
    let (tx, mut rx) = mpsc::channel(4);
    tokio::task::spawn_blocking(move || {
        let out = ToBody { tx: tx.clone(), buf: Vec::new() };
        match staged.write_archive(&node, &party, &protect, out, &|_| {}) {
            Ok((m, mut out)) => match out.flush() {
                Ok(()) => tracing::info!(files = m.files.len(), created = %m.created, "backup taken"),
                Err(e) => tracing::warn!(error = %e, "backup not delivered"),
            },
            Err(e) => {
                tracing::error!(error = %e, "backup failed");
                // The client sees the body break off, and removes what it wrote.
                let _ = tx.blocking_send(Err(io::Error::other(e.to_string())));
            }
        }
    });
    let body = Body::from_stream(futures::stream::poll_fn(move |cx| rx.poll_recv(cx)));
    Ok(([(header::CONTENT_TYPE, "application/octet-stream")], body).into_response())
}
