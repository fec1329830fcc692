//! Users as the tests write them: a role and an id, the rest defaulted
//! (login = id, name `用户{id}`, the test [`PASSWORD`]) unless a test says
//! otherwise.

use backend::admin::UserSpec;

use crate::county::PASSWORD;

/// A [`UserSpec`] built from what a test cares about:
/// `UserBuilder::cadre("u1").unit("v1").build()`.
#[derive(Debug, Clone)]
#[must_use]
pub struct UserBuilder {
    spec: UserSpec,
}

impl UserBuilder {
    /// A user of `role` (`cadre`, `leader`, `supervisor`, `admin`) whose
    /// login is `id`, named `用户{id}`, with the test password and no unit
    /// yet.
    pub fn new(id: &str, role: &str) -> Self {
        Self {
            spec: UserSpec {
                id: id.into(),
                login: id.into(),
                name: format!("用户{id}"),
                phone: String::new(),
                post: String::new(),
                duties: String::new(),
                unit: String::new(),
                role: role.into(),
                scope: None,
                password: PASSWORD.into(),
            },
        }
    }

    pub fn cadre(id: &str) -> Self {
        Self::new(id, "cadre")
    }

    /// A leader; give the unit they lead with [`scope`](Self::scope).
    pub fn leader(id: &str) -> Self {
        Self::new(id, "leader")
    }

    /// A supervisor; give the unit they oversee with [`scope`](Self::scope).
    pub fn supervisor(id: &str) -> Self {
        Self::new(id, "supervisor")
    }

    pub fn unit(mut self, unit: &str) -> Self {
        self.spec.unit = unit.into();
        self
    }

    /// The unit a leader or supervisor reads.
    pub fn scope(mut self, unit: &str) -> Self {
        self.spec.scope = Some(unit.into());
        self
    }

    pub fn login(mut self, login: &str) -> Self {
        self.spec.login = login.into();
        self
    }

    pub fn name(mut self, name: &str) -> Self {
        self.spec.name = name.into();
        self
    }

    pub fn password(mut self, password: &str) -> Self {
        self.spec.password = password.into();
        self
    }

    pub fn build(self) -> UserSpec {
        self.spec
    }
}
