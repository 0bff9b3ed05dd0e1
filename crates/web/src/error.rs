//! `AppError` is what a handler returns when it cannot answer normally. HTML routes return it
//! as is (an error page); JSON routes wrap it in `ApiError` (a `{"error": "..."}` body). Invalid
//! form input is not an error here: the form is rendered again with its messages, status 422.

use askama::Template;
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::HtmlPage;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// 404: no such order, shipment or invoice.
    #[error("{0}")]
    NotFound(String),
    /// 410: it existed and was deleted.
    #[error("{0}")]
    Gone(String),
    /// 400: the request cannot be read (malformed body, bad path id).
    #[error("{0}")]
    BadRequest(String),
    /// 422: the request was read but its content is unacceptable.
    #[error("{0}")]
    Unprocessable(String),
    /// 502: the service behind the front door is not running or not reachable.
    #[error("{0}")]
    BadGateway(String),
    /// 500: logged with its cause chain; the client sees no details.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl AppError {
    fn status(&self) -> StatusCode {
        match self {
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::Gone(_) => StatusCode::GONE,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::BadGateway(_) => StatusCode::BAD_GATEWAY,
            AppError::Unexpected(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// What the client may read.
    fn public_message(&self) -> String {
        match self {
            AppError::Unexpected(error) => {
                tracing::error!(error = format!("{error:#}"), "Request failed.");
                "Something went wrong on our side. Please try again.".to_owned()
            }
            other => other.to_string(),
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    title: &'static str,
    message: String,
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        let title = status.canonical_reason().unwrap_or("Error");
        HtmlPage(
            status,
            ErrorPage {
                title,
                message: self.public_message(),
            },
        )
        .into_response()
    }
}

/// `AppError` for JSON routes.
#[derive(Debug)]
pub struct ApiError(pub AppError);

impl<E: Into<AppError>> From<E> for ApiError {
    fn from(error: E) -> Self {
        ApiError(error.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.0.status();
        (
            status,
            Json(serde_json::json!({ "error": self.0.public_message() })),
        )
            .into_response()
    }
}
