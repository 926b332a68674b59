//! Errors in words: an error and its causes on one line, for reports, plan rows and
//! logs, where an error is data rather than something to print with `anyhow`.

/// An error and its causes, joined by `: `.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}
