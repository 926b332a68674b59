//! The `workday` connector: not built yet. A source of this type fails with a message
//! saying so; nothing is read and no one is judged by it.

use async_trait::async_trait;

use super::{Api, Ask, Connector, Got};
use crate::source::SourceError;

/// The connector.
pub(super) struct Workday;

#[async_trait]
impl Connector for Workday {
    fn defaults(&self) -> &'static [(&'static str, &'static str)] {
        &[]
    }

    fn grant(&self) -> &'static str {
        "grant the API user read access to the field"
    }

    fn credential(&self) -> &'static str {
        "credentials"
    }

    async fn read(&self, api: &Api<'_>, _ask: &Ask<'_>) -> Result<Got, SourceError> {
        Err(api.refused("", "this connector is not built yet"))
    }
}
