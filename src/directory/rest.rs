//! What the directories with a REST API (SCIM, Microsoft Graph) share on top of
//! [`crate::http`]: the client a directory was built with, and how a failed request
//! becomes a [`DirectoryError`]. The HTTP client itself knows nothing of directories.

use std::sync::Arc;

use reqwest::StatusCode;

use super::DirectoryError;
use crate::http::{Http, HttpError};
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
