//! What the directories with a REST API (SCIM, Microsoft Graph) share on top of
//! [`crate::http`]: the client a directory was built with, how a failed request
//! becomes a [`DirectoryError`], and a create whose answer may be lost. The HTTP client
//! itself knows nothing of directories.

use std::future::Future;
use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::Value as Json;

use super::DirectoryError;
use crate::http::{Http, HttpError, Response};
use crate::model::DirectoryId;

/// The client of an HTTP directory, or why it could not be built.
pub fn client<'a>(
    http: &'a Result<Http, Arc<HttpError>>,
    directory: &DirectoryId,
) -> Result<&'a Http, DirectoryError> {
    http.as_ref().map_err(|e| DirectoryError::Unavailable {
        directory: directory.clone(),
        source: Box::new(Arc::clone(e)),
    })
}

/// The directory error of a failed request about entry `id`, for what a directory does
/// not map itself: 404 is not found, another 4xx but 401 and 403, or a 500 or 501, is
/// refused for that entry, anything else makes the directory unavailable.
pub fn directory_error(directory: &DirectoryId, id: &str, e: HttpError) -> DirectoryError {
    match e.status() {
        Some(StatusCode::NOT_FOUND) => DirectoryError::NotFound(id.to_owned(), Some(Box::new(e))),
        Some(s) if s.is_client_error() && s != StatusCode::UNAUTHORIZED && s != StatusCode::FORBIDDEN => {
            DirectoryError::Rejected(Box::new(e))
        }
        // The server answered, about this request: a bug of its own with this entry, not
        // an outage (those are 502, 503 and 504, retried first).
        Some(StatusCode::INTERNAL_SERVER_ERROR | StatusCode::NOT_IMPLEMENTED) => {
            DirectoryError::Rejected(Box::new(e))
        }
        _ => DirectoryError::Unavailable { directory: directory.clone(), source: Box::new(e) },
    }
}

/// Creates an object with `post` and returns the `id` of the answer's body. A POST is
/// not idempotent: when its answer is lost, the object may exist, so `find` looks for it
/// (by a key it was posted with) before one more POST. A create neither answered nor
/// found is refused, and the next run checks again; `failed` maps any other failure,
/// and `no_id` says what an answer without an id means.
pub async fn create<P, PF, F, FF>(
    post: P,
    find: F,
    failed: impl Fn(HttpError) -> DirectoryError,
    no_id: &str,
) -> Result<String, DirectoryError>
where
    P: Fn() -> PF,
    PF: Future<Output = Result<Response, HttpError>>,
    F: Fn() -> FF,
    FF: Future<Output = Result<Option<String>, DirectoryError>>,
{
    for attempt in 0..2 {
        match post().await {
            Ok(response) => {
                return response
                    .body
                    .as_ref()
                    .and_then(|b| b.get("id"))
                    .and_then(Json::as_str)
                    .map(str::to_owned)
                    .ok_or_else(|| DirectoryError::refused(no_id));
            }
            Err(HttpError::Lost { .. }) if attempt == 0 => {
                if let Some(found) = find().await? {
                    return Ok(found);
                }
            }
            Err(e) => return Err(failed(e)),
        }
    }
    Err(DirectoryError::refused("the create could not be confirmed; the next run checks again"))
}
