//! The embedded-session core: every way a host logs its user in (a host token,
//! an embed URL's or join URL's ticket, a login link, a third-party login handed
//! over) vouches for a user ([`vouched`]); the core turns that user into a
//! session ([`session`]: tenant, realm user by [`provision`], slot by [`slots`],
//! tokens by [`tokens`]) that the frame renews and ends ([`frame`]). One file per
//! way in imports the core and never another way in
//! (docs/src/developers/adding-a-style.md).

pub mod audit;
pub mod frame;
pub mod framed_errors;
pub mod handshake;
pub mod host_api;
pub mod host_token;
pub mod landing;
pub mod links;
pub mod profiles;
pub mod provision;
pub mod registrations;
pub mod resources;
pub mod session;
pub mod session_token;
pub mod slots;
pub mod sso;
pub mod tickets;
pub mod tokens;
pub mod uri_auth;
pub mod users;
pub mod vouched;

pub use frame::{jwks, logout, redeem, renew, wait};
pub use profiles::{PROFILE, profile_id, store_profile};
pub use provision::{created_user, managed_username};
pub use session_token::SESSION_TOKEN_TYPE;
pub use slots::{SLOT_LEASE, session_keys};
pub use tokens::{ASSERTION_TYPE, SESSION_TOKEN_LIFETIME};
pub use vouched::{HostUser, Profile};
