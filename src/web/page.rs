//! Renders askama templates into responses, so no handler unwraps a render.

use askama::Template;
use axum::response::{Html, IntoResponse, Response};

use crate::error::AppError;
use crate::store::LearnerSnapshot;

/// A page to render; render failures become the error page.
pub struct Page<T>(pub T);

/// Templates that know roughly how large they render, so the buffer is allocated once
/// instead of doubling through a large lesson.
pub trait SizedPage {
    /// Bytes to reserve before rendering.
    fn capacity(&self) -> usize {
        16 * 1024
    }
}

impl<T: Template + SizedPage> IntoResponse for Page<T> {
    fn into_response(self) -> Response {
        let mut html = String::with_capacity(self.0.capacity());
        match self.0.render_into(&mut html) {
            Ok(()) => Html(html).into_response(),
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

impl Chrome {
    /// The header data from a learner snapshot.
    pub fn of(snapshot: &LearnerSnapshot) -> Chrome {
        Chrome {
            learner_name: snapshot.display_name.clone(),
        }
    }
}
