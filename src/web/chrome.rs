//! Loads what every page's header needs about the current learner.

use crate::error::AppResult;
use crate::state::AppState;
use crate::store::LearnerId;
use crate::web::page::Chrome;

/// The header data for this learner.
pub async fn load(state: &AppState, learner: &LearnerId) -> AppResult<Chrome> {
    let learner = state.store.learner(learner).await?;
    Ok(Chrome {
        learner_name: learner.and_then(|l| l.display_name),
    })
}
