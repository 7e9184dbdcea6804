//! Scenes: the experiment as a sequence of pages a participant goes through one by one.
//! A static scene shows a title, researcher HTML and a button (instructions, consent, a
//! thank-you page with a completion code); a gym scene is a waiting room and a game.

use serde::{Deserialize, Serialize};

use crate::{GameConfig, MatchmakingConfig, MonitoringConfig, SceneId, WaitingRoomConfig};

/// One `[[scenes]]` entry of the experiment file. Gym scenes take the top-level `[game]`,
/// `[matchmaking]`, `[waiting_room]` and `[monitoring]` tables unless they give their own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum SceneConfig {
    Static {
        id: SceneId,
        #[serde(default)]
        title: String,
        /// Shown as HTML: it comes from the researcher's config, never from participants.
        #[serde(default)]
        html: String,
        /// The continue button's label; absent on the last page.
        #[serde(default)]
        button: Option<String>,
        #[serde(default)]
        completion_code: Option<String>,
    },
    Gym {
        id: SceneId,
        #[serde(default)]
        game: Option<Box<GameConfig>>,
        #[serde(default)]
        matchmaking: Option<MatchmakingConfig>,
        #[serde(default)]
        waiting_room: Option<WaitingRoomConfig>,
        #[serde(default)]
        monitoring: Option<Box<MonitoringConfig>>,
    },
}

/// A gym scene with every setting resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct GymScene {
    pub id: SceneId,
    /// Its `scene_id` is the scene's id.
    pub game: GameConfig,
    pub matchmaking: MatchmakingConfig,
    pub waiting_room: WaitingRoomConfig,
    pub monitoring: MonitoringConfig,
}

/// A scene as the relay runs it.
#[derive(Debug, Clone, PartialEq)]
pub enum Scene {
    Static(SceneView),
    Gym(Box<GymScene>),
}

/// What the page shows for a scene (externally tagged on the wire, like [`crate::ServerMsg`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum SceneView {
    Static {
        id: SceneId,
        title: String,
        html: String,
        button: Option<String>,
        completion_code: Option<String>,
    },
    /// The waiting room and the game follow.
    Gym { id: SceneId },
}

impl Scene {
    pub fn id(&self) -> &SceneId {
        match self {
            Scene::Static(SceneView::Static { id, .. } | SceneView::Gym { id }) => id,
            Scene::Gym(gym) => &gym.id,
        }
    }

    pub fn view(&self) -> SceneView {
        match self {
            Scene::Static(view) => view.clone(),
            Scene::Gym(gym) => SceneView::Gym { id: gym.id.clone() },
        }
    }

    pub fn gym(&self) -> Option<&GymScene> {
        match self {
            Scene::Gym(gym) => Some(gym),
            Scene::Static(_) => None,
        }
    }
}
