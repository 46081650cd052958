//! `GET /admin/` (admin credentials): the operator's dashboard (`dashboard.html`, no external
//! assets). It reads what the admin API gives (`/admin/status.json`, `/admin/listclients`,
//! `/admin/reports`) and acts through it (`killclient`, `killsource`, `metadata`): per station,
//! what plays, whether a show is live or relayed, the listeners now, average listeners per hour
//! over 24 hours and per day over 7 days, the last tracks with their performances, and the
//! listeners with a kick button.

use http::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE};
use http::Response;

use crate::http::body::Body;

/// The dashboard page.
pub fn page() -> Response<Body> {
    let mut response = Response::new(Body::full(include_str!("dashboard.html")));
    let h = response.headers_mut();
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    // The operator's page: never kept by a cache.
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
