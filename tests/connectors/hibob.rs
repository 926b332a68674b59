//! This connector's end-to-end test comes with the connector (issue 13).
