//! The embedded file drop: big files in a folder of the data directory, behind links this
//! server signs and serves (`/fichiers/{token}`), as S3's presigned links do on AWS. Files older
//! than a day are deleted when a new one starts, as the bucket's lifecycle rule does.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use axum::body::Body;
use axum::extract::{Path as UrlPath, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use futures_util::StreamExt;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use telmail_core::clock::Clock;
use telmail_core::error::StoreError;
use telmail_core::ports::FileDrop;
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

use crate::error::StartupError;

/// How long files are kept.
const RETENTION: Duration = Duration::from_secs(24 * 3600);
/// The biggest file accepted through a link.
const MAX_UPLOAD_BYTES: u64 = 600 << 20;

/// Files in a folder, with signed links.
pub struct FolderDrop {
    root: PathBuf,
    /// The links' key, drawn at start: links die with the process, as they expire anyway.
    key: [u8; 32],
    /// The links' expiry is the service's time.
    clock: Arc<dyn Clock>,
    /// Taken to close an upload and to keep a file received: no file lands after its link
    /// was closed.
    landing: tokio::sync::Mutex<()>,
}

/// What a link allows.
#[derive(Serialize, Deserialize, PartialEq, Eq)]
struct Grant {
    /// `get` or `put`.
    op: String,
    key: String,
    /// The download's file name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    /// Unix seconds.
    exp: i64,
}

fn backend(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(format!("file drop: {what}: {e}"))
}

impl FolderDrop {
    /// The drop in `root` (created if missing).
    pub fn new(root: &Path, clock: Arc<dyn Clock>) -> Result<Self, StartupError> {
        crate::private::create_dir_all(root).map_err(StartupError::file("create", root))?;
        // A folder made by an older version, or by hand: its files are residents' data.
        crate::private::restrict_dir(root).map_err(StartupError::file("restrict", root))?;
        Ok(Self {
            root: root.to_owned(),
            key: rand::random(),
            clock,
            landing: tokio::sync::Mutex::new(()),
        })
    }

    /// The routes serving the links. Their answers are files or short French texts, never pages:
    /// a policy that runs nothing and loads nothing, even if a file were shown in a tab.
    pub fn routes(self: &Arc<Self>) -> Router {
        Router::new()
            .route("/fichiers/{token}", get(download).put(upload))
            .layer(axum::middleware::map_response(
                |mut resp: Response| async move {
                    resp.headers_mut().insert(
                        header::CONTENT_SECURITY_POLICY,
                        axum::http::HeaderValue::from_static(
                            "default-src 'none'; frame-ancestors 'none'; sandbox",
                        ),
                    );
                    resp
                },
            ))
            .with_state(self.clone())
    }

    fn path(&self, key: &str) -> Result<PathBuf, StoreError> {
        // Keys are the use case's own (`jobs/<uuid>/…`); refuse anything that could leave the folder.
        let safe = key
            .split('/')
            .all(|p| !p.is_empty() && p != "." && p != ".." && !p.contains('\\'));
        if !safe {
            return Err(backend("key", key));
        }
        Ok(self.root.join(key))
    }

    fn mac(&self) -> Hmac<Sha256> {
        Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key")
    }

    fn link(&self, grant: &Grant) -> String {
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(grant).expect("grants serialize"));
        let mut mac = self.mac();
        mac.update(payload.as_bytes());
        let sig = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("/fichiers/{payload}.{sig}")
    }

    /// The grant of a token when its signature holds and it has not expired.
    fn grant(&self, token: &str, op: &str) -> Option<Grant> {
        let (payload, sig) = token.split_once('.')?;
        let mut mac = self.mac();
        mac.update(payload.as_bytes());
        mac.verify_slice(&URL_SAFE_NO_PAD.decode(sig).ok()?).ok()?;
        let grant: Grant = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
        (grant.op == op && grant.exp >= self.clock.now().timestamp()).then_some(grant)
    }

    fn expiry(&self, valid: Duration) -> i64 {
        self.clock.now().timestamp() + i64::try_from(valid.as_secs()).unwrap_or(i64::MAX / 2)
    }

    /// The mark left beside a file whose upload link was closed.
    fn closed_mark(&self, key: &str) -> Result<PathBuf, StoreError> {
        self.path(&format!("{key}.recu"))
    }

    /// Whether the upload link of `key` was closed.
    async fn is_closed(&self, key: &str) -> Result<bool, StoreError> {
        tokio::fs::try_exists(self.closed_mark(key)?)
            .await
            .map_err(|e| backend("closed", e))
    }

    fn parts_dir(&self, key: &str, upload: &str) -> Result<PathBuf, StoreError> {
        self.path(&format!("{key}.parts/{upload}"))
    }

    /// Deletes what is older than [`RETENTION`].
    async fn sweep(&self) -> Result<(), StoreError> {
        let jobs = self.root.join("jobs");
        let mut entries = match tokio::fs::read_dir(&jobs).await {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(backend("sweep", e)),
        };
        while let Some(entry) = entries
            .next_entry()
            .await
            .map_err(|e| backend("sweep", e))?
        {
            let modified = entry
                .metadata()
                .await
                .and_then(|m| m.modified())
                .map_err(|e| backend("sweep", e))?;
            // The file system stamps files with the wall clock, so their age is read on it too.
            #[allow(clippy::disallowed_methods)]
            let age = SystemTime::now()
                .duration_since(modified)
                .unwrap_or_default();
            if age > RETENTION {
                tokio::fs::remove_dir_all(entry.path())
                    .await
                    .map_err(|e| backend("sweep", e))?;
            }
        }
        Ok(())
    }

    async fn create(&self, path: &Path) -> Result<tokio::fs::File, StoreError> {
        if let Some(dir) = path.parent() {
            crate::private::create_dir_all_async(dir)
                .await
                .map_err(|e| backend("create", e))?;
        }
        crate::private::open_options()
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .await
            .map_err(|e| backend("create", e))
    }
}

#[async_trait]
impl FileDrop for FolderDrop {
    async fn upload_link(&self, key: &str, valid: Duration) -> Result<String, StoreError> {
        self.sweep().await?;
        self.path(key)?;
        Ok(self.link(&Grant {
            op: "put".into(),
            key: key.to_owned(),
            name: None,
            exp: self.expiry(valid),
        }))
    }

    async fn download_link(
        &self,
        key: &str,
        file_name: &str,
        valid: Duration,
    ) -> Result<String, StoreError> {
        self.path(key)?;
        Ok(self.link(&Grant {
            op: "get".into(),
            key: key.to_owned(),
            name: Some(file_name.to_owned()),
            exp: self.expiry(valid),
        }))
    }

    async fn size(&self, key: &str) -> Result<Option<u64>, StoreError> {
        match tokio::fs::metadata(self.path(key)?).await {
            Ok(m) => Ok(Some(m.len())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(backend("size", e)),
        }
    }

    async fn read(&self, key: &str, from: u64, len: u64) -> Result<Vec<u8>, StoreError> {
        let mut file = tokio::fs::File::open(self.path(key)?)
            .await
            .map_err(|e| backend("read", e))?;
        file.seek(std::io::SeekFrom::Start(from))
            .await
            .map_err(|e| backend("read", e))?;
        let mut out = Vec::new();
        file.take(len)
            .read_to_end(&mut out)
            .await
            .map_err(|e| backend("read", e))?;
        Ok(out)
    }

    async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), StoreError> {
        let path = self.path(key)?;
        let mut file = self.create(&path).await?;
        file.write_all(&bytes)
            .await
            .map_err(|e| backend("write", e))?;
        file.sync_all().await.map_err(|e| backend("write", e))
    }

    async fn start_parts(&self, key: &str) -> Result<String, StoreError> {
        self.sweep().await?;
        let upload = uuid::Uuid::new_v4().to_string();
        crate::private::create_dir_all_async(&self.parts_dir(key, &upload)?)
            .await
            .map_err(|e| backend("start", e))?;
        Ok(upload)
    }

    async fn put_part(
        &self,
        key: &str,
        upload: &str,
        number: u32,
        bytes: Vec<u8>,
    ) -> Result<String, StoreError> {
        let tag = format!("{number:05}");
        self.put(&format!("{key}.parts/{upload}/{tag}"), bytes)
            .await?;
        Ok(tag)
    }

    async fn finish_parts(
        &self,
        key: &str,
        upload: &str,
        tags: &[String],
    ) -> Result<(), StoreError> {
        let dir = self.parts_dir(key, upload)?;
        let mut file = self.create(&self.path(key)?).await?;
        for tag in tags {
            let mut part = tokio::fs::File::open(dir.join(tag))
                .await
                .map_err(|e| backend("join", e))?;
            tokio::io::copy(&mut part, &mut file)
                .await
                .map_err(|e| backend("join", e))?;
        }
        file.sync_all().await.map_err(|e| backend("join", e))?;
        tokio::fs::remove_dir_all(self.path(&format!("{key}.parts"))?)
            .await
            .map_err(|e| backend("join", e))
    }

    async fn remove(&self, key: &str) -> Result<(), StoreError> {
        match tokio::fs::remove_file(self.path(key)?).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(backend("remove", e)),
        }
    }

    async fn close_upload(&self, key: &str) -> Result<(), StoreError> {
        let _landing = self.landing.lock().await;
        let mark = self.closed_mark(key)?;
        self.create(&mark)
            .await?
            .sync_all()
            .await
            .map_err(|e| backend("close", e))
    }
}

/// The French answer to a link that does not (or no longer) work.
fn refused() -> Response {
    (
        StatusCode::FORBIDDEN,
        "Ce lien n'est pas valable ou a expiré : recommencez depuis l'espace agents.",
    )
        .into_response()
}

/// `GET /fichiers/{token}`: the file, as an attachment.
async fn download(
    State(drop): State<Arc<FolderDrop>>,
    UrlPath(token): UrlPath<String>,
) -> Response {
    let Some(grant) = drop.grant(&token, "get") else {
        return refused();
    };
    let Ok(path) = drop.path(&grant.key) else {
        return refused();
    };
    let file = match tokio::fs::File::open(path).await {
        Ok(file) => file,
        Err(_) => return (StatusCode::NOT_FOUND, "Ce fichier n'existe plus.").into_response(),
    };
    let name = grant.name.unwrap_or_else(|| "fichier.csv".into());
    let stream = tokio_util_stream(file);
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        Body::from_stream(stream),
    )
        .into_response()
}

/// A file read as a stream of chunks.
fn tokio_util_stream(
    file: tokio::fs::File,
) -> impl futures_util::Stream<Item = std::io::Result<Vec<u8>>> {
    futures_util::stream::unfold(file, |mut file| async move {
        let mut chunk = vec![0; 64 * 1024];
        match file.read(&mut chunk).await {
            Ok(0) => None,
            Ok(n) => {
                chunk.truncate(n);
                Some((Ok(chunk), file))
            }
            Err(e) => Some((Err(e), file)),
        }
    })
}

/// `PUT /fichiers/{token}`: the file sent, written as it arrives.
async fn upload(
    State(drop): State<Arc<FolderDrop>>,
    UrlPath(token): UrlPath<String>,
    body: Body,
) -> Response {
    let Some(grant) = drop.grant(&token, "put") else {
        return refused();
    };
    match receive(&drop, &grant.key, body).await {
        Ok(()) => StatusCode::OK.into_response(),
        Err(Received::Closed) => (
            StatusCode::CONFLICT,
            "Le fichier de cet import a déjà été reçu : ce lien ne sert plus. Pour envoyer un autre fichier, commencez un nouvel import depuis l'espace agents.",
        )
            .into_response(),
        Err(Received::TooBig) => (
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "Le fichier dépasse {} Mo : coupez-le en plusieurs fichiers.",
                MAX_UPLOAD_BYTES >> 20
            ),
        )
            .into_response(),
        Err(Received::Failed(e)) => {
            tracing::error!(error = %e, "cannot receive a file");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "Le fichier n'a pas pu être enregistré : réessayez.",
            )
                .into_response()
        }
    }
}

enum Received {
    TooBig,
    /// The link was closed: its job moved on.
    Closed,
    Failed(String),
}

/// Whether the link of `key` was closed, as a refusal.
async fn still_open(drop: &FolderDrop, key: &str) -> Result<(), Received> {
    match drop.is_closed(key).await {
        Ok(false) => Ok(()),
        Ok(true) => Err(Received::Closed),
        Err(e) => Err(Received::Failed(e.to_string())),
    }
}

async fn receive(drop: &FolderDrop, key: &str, body: Body) -> Result<(), Received> {
    still_open(drop, key).await?;
    let path = drop
        .path(key)
        .map_err(|e| Received::Failed(e.to_string()))?;
    let partial = path.with_extension("envoi");
    let mut file = drop
        .create(&partial)
        .await
        .map_err(|e| Received::Failed(e.to_string()))?;
    let mut stream = body.into_data_stream();
    let mut written = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| Received::Failed(e.to_string()))?;
        written += chunk.len() as u64;
        if written > MAX_UPLOAD_BYTES {
            drop_partial(&partial).await;
            return Err(Received::TooBig);
        }
        file.write_all(&chunk)
            .await
            .map_err(|e| Received::Failed(e.to_string()))?;
    }
    file.sync_all()
        .await
        .map_err(|e| Received::Failed(e.to_string()))?;
    // Whole or nothing: the job never reads a file still arriving, nor one arriving after its
    // link was closed (the size was checked then).
    let _landing = drop.landing.lock().await;
    if let Err(closed) = still_open(drop, key).await {
        drop_partial(&partial).await;
        return Err(closed);
    }
    tokio::fs::rename(&partial, &path)
        .await
        .map_err(|e| Received::Failed(e.to_string()))
}

async fn drop_partial(path: &Path) {
    if let Err(e) = tokio::fs::remove_file(path).await {
        tracing::warn!(error = %e, "cannot delete a refused file");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn links_are_signed_for_one_use_and_keys_stay_in_the_folder() {
        let dir = tempfile::tempdir().unwrap();
        let drop = FolderDrop::new(dir.path(), Arc::new(telmail_core::clock::SystemClock)).unwrap();
        let link = drop
            .upload_link("jobs/a/fichier.csv", Duration::from_secs(60))
            .await
            .unwrap();
        let token = link.strip_prefix("/fichiers/").unwrap();
        assert!(drop.grant(token, "put").is_some());
        assert!(
            drop.grant(token, "get").is_none(),
            "an upload link is not a download link"
        );
        let forged = format!("{}x", token);
        assert!(drop.grant(&forged, "put").is_none());
        let expired = drop.link(&Grant {
            op: "put".into(),
            key: "jobs/a/fichier.csv".into(),
            name: None,
            exp: drop.clock.now().timestamp() - 1,
        });
        assert!(drop
            .grant(expired.strip_prefix("/fichiers/").unwrap(), "put")
            .is_none());
        assert!(drop.path("jobs/../../etc/passwd").is_err());
    }

    #[tokio::test]
    async fn parts_join_in_order_and_ranges_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let drop = FolderDrop::new(dir.path(), Arc::new(telmail_core::clock::SystemClock)).unwrap();
        let key = "jobs/b/fichier.csv";
        let upload = drop.start_parts(key).await.unwrap();
        let two = drop
            .put_part(key, &upload, 2, b"world".to_vec())
            .await
            .unwrap();
        let one = drop
            .put_part(key, &upload, 1, b"hello ".to_vec())
            .await
            .unwrap();
        drop.finish_parts(key, &upload, &[one, two]).await.unwrap();
        assert_eq!(drop.size(key).await.unwrap(), Some(11));
        assert_eq!(drop.read(key, 6, 100).await.unwrap(), b"world");
        drop.remove(key).await.unwrap();
        assert_eq!(drop.size(key).await.unwrap(), None);
    }

    /// Folders 0700 and files 0600: the service's own user reads them, nobody else (#26, point
    /// 10: the drop's root was made 0600, which only root could enter).
    #[cfg(unix)]
    #[tokio::test]
    async fn folders_and_files_are_the_owner_s_alone_and_the_owner_can_enter_them() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("files");
        std::fs::create_dir(&root).unwrap();
        std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o755)).unwrap();
        let drop = FolderDrop::new(&root, Arc::new(telmail_core::clock::SystemClock)).unwrap();
        assert_eq!(mode(&root), 0o700);
        drop.put("jobs/c/entier.csv", b"a;b".to_vec())
            .await
            .unwrap();
        let upload = drop.start_parts("jobs/c/parts.csv").await.unwrap();
        let part = drop
            .put_part("jobs/c/parts.csv", &upload, 1, b"x".to_vec())
            .await
            .unwrap();
        drop.finish_parts("jobs/c/parts.csv", &upload, &[part])
            .await
            .unwrap();
        for folder in ["jobs", "jobs/c"] {
            assert_eq!(mode(&root.join(folder)), 0o700, "{folder}");
        }
        for file in ["jobs/c/entier.csv", "jobs/c/parts.csv"] {
            assert_eq!(mode(&root.join(file)), 0o600, "{file}");
        }
    }
}
