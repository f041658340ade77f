//! The interactive page (filled in below).
use super::page::Page;

/// The page.
pub fn render(page: &Page) -> String {
    serde_json::to_string(page).unwrap_or_default()
}
