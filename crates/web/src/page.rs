use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

/// An askama template as a response, with a status (200 unless said otherwise).
#[derive(Debug)]
pub struct HtmlPage<T>(pub StatusCode, pub T);

impl<T: Template> HtmlPage<T> {
    pub fn ok(template: T) -> Self {
        HtmlPage(StatusCode::OK, template)
    }
}

impl<T: Template> IntoResponse for HtmlPage<T> {
    fn into_response(self) -> Response {
        match self.1.render() {
            Ok(html) => (self.0, Html(html)).into_response(),
            Err(error) => {
                tracing::error!(%error, "Page could not be rendered.");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "page could not be rendered",
                )
                    .into_response()
            }
        }
    }
}
