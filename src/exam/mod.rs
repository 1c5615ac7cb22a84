//! Practice exams as pure domain logic: attempt phases and deadlines, the contexts tasks run
//! on, scoring with partial credit, and time per task. The clock is always passed in.

mod phase;
mod plan;
mod score;
mod snapshot;
mod spent;

pub use phase::{ActionRefused, Phase, SetupState, Status, late_reason};
pub use plan::{Placement, PlanError, plan};
pub use score::{ExamScore, TaskRecord, TaskTrend, total, weakest};
pub use snapshot::{ExamSnapshot, TaskSnapshot};
pub use spent::time_per_task;
