//! Events out, pulled: the feed in the events' one order and the catalogue
//! of their kinds (webhooks push the same messages).

pub mod list;
pub mod types;
