//! Renders askama templates into responses, so no handler unwraps a render.

use askama::Template;
use axum::response::{Html, IntoResponse, Response};

use crate::error::AppError;

/// A page to render; render failures become the error page.
pub struct Page<T>(pub T);

impl<T: Template> IntoResponse for Page<T> {
    fn into_response(self) -> Response {
        match self.0.render() {
            Ok(html) => Html(html).into_response(),
            Err(err) => AppError::Render(err).into_response(),
        }
    }
}

/// What the header of every page shows about the learner.
#[derive(Debug, Clone, Default)]
pub struct Chrome {
    /// The learner's display name, if set.
    pub learner_name: Option<String>,
}
