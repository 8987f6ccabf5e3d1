//! Live queries: every committed write to an entity that a live query reads tells the clients
//! using that query to refetch it, over Socket.IO rooms (so that, with the Redis adapter, a
//! write on one process reaches clients on every process).
//!
//! The design is notify-then-refetch. A notification carries one entity name and nothing of
//! the rows; the client refetches the query through its own HTTP request, with its own token,
//! so a client never receives more than its query answers it. The parts:
//!
//! - [`LiveQuery`]: what the generated server declares per live query (its name, entities,
//!   `auth`, `scope: user`).
//! - [`LiveHub`]: the entity layer's [`ChangeListener`]. For each committed [`TableChange`] it
//!   picks rooms: `live:<Entity>` (unscoped queries), `live:<Entity>:user:<id>` for each owner
//!   of the changed rows (`scope: user` queries), or `live:<Entity>:users` (every scoped
//!   subscriber) when the owners are unknown. A deletion also changes the tables whose foreign
//!   keys cascade from it (`onDelete: Cascade` or `SetNull`).
//! - Coalescing ([`Throttle`]): a room is sent at most one `changed` per window
//!   ([`DEFAULT_WINDOW`]): the first change at once, the later ones of the window together at
//!   its end. A burst of 1,000 writes in 100 ms sends each room at most three.
//! - The built-in namespace [`LIVE_NAMESPACE`], with the same token check as the app's own:
//!   a client sends `watch` with the names of the live queries it has mounted, and the server
//!   puts the socket in exactly their rooms, choosing the user from the socket's token (a
//!   client cannot name another user's room). The ack lists the queries accepted.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use tokio::time::Instant;

use socketioxide::extract::TryData;

use crate::auth::UserId;
use crate::db::{ChangeListener, Entity, ReferentialAction, TableChange, TableSchema};
use crate::socket::{AppAdapter, NamespaceConfig, SocketIo, SocketRef};

/// The Socket.IO namespace that carries live-query notifications.
pub const LIVE_NAMESPACE: &str = "/appc-live";

/// The event a client sends with the names of the live queries it has mounted.
pub const WATCH_EVENT: &str = "watch";

/// The event the server sends with the name of an entity whose rows changed.
pub const CHANGED_EVENT: &str = "changed";

/// How often at most one room is told of changes.
pub const DEFAULT_WINDOW: Duration = Duration::from_millis(50);

/// The prefix of every live-query room, so `watch` leaves only its own rooms.
const ROOM_PREFIX: &str = "live:";

/// A live query as the generated server declares it.
///
/// ```
/// # use appc_runtime::codegen::{Entity, LiveQuery};
/// # fn declare<Task: Entity>() -> LiveQuery {
/// LiveQuery::new("getTasks").auth_required().scoped_to_user().entity::<Task>("Task")
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct LiveQuery {
    name: String,
    auth_required: bool,
    scoped_to_user: bool,
    /// The entities it reads: (entity name, table name).
    entities: Vec<(String, String)>,
}

impl LiveQuery {
    /// A live query named as in `main.wasp`, reading no entity yet.
    pub fn new(name: impl Into<String>) -> Self {
        LiveQuery {
            name: name.into(),
            auth_required: false,
            scoped_to_user: false,
            entities: Vec::new(),
        }
    }

    /// `auth: true`: anonymous sockets are not told of its changes (their query would be 401).
    pub fn auth_required(mut self) -> Self {
        self.auth_required = true;
        self
    }

    /// `scope: user`: only the users owning the changed rows are told.
    pub fn scoped_to_user(mut self) -> Self {
        self.scoped_to_user = true;
        self
    }

    /// An entity it reads, named as in `main.wasp`.
    pub fn entity<E: Entity>(mut self, name: &str) -> Self {
        self.entities
            .push((name.to_owned(), E::schema().name.clone()));
        self
    }

    /// The rooms a socket of `user` joins for this query: none when it needs a user the
    /// socket does not have.
    fn rooms(&self, user: Option<&UserId>) -> Vec<String> {
        if self.auth_required && user.is_none() {
            return Vec::new();
        }
        let mut rooms = Vec::new();
        for (entity, _) in &self.entities {
            if self.scoped_to_user {
                // An anonymous socket owns no rows; its scoped query has nothing live.
                if let Some(user) = user {
                    rooms.push(user_room(entity, &user.to_string()));
                    rooms.push(all_users_room(entity));
                }
            } else {
                rooms.push(entity_room(entity));
            }
        }
        rooms
    }
}

fn entity_room(entity: &str) -> String {
    format!("{ROOM_PREFIX}{entity}")
}

fn user_room(entity: &str, user: &str) -> String {
    format!("{ROOM_PREFIX}{entity}:user:{user}")
}

fn all_users_room(entity: &str) -> String {
    format!("{ROOM_PREFIX}{entity}:users")
}

/// Sends one `changed` to one room; the hub's only way out, so tests can watch it.
pub(crate) trait RoomSender: Send + Sync + 'static {
    fn send(&self, room: String, entity: String);
}

/// Sends through socketioxide, whose adapter carries room broadcasts to every process.
struct SocketIoSender(SocketIo);

impl RoomSender for SocketIoSender {
    fn send(&self, room: String, entity: String) {
        let io = self.0.clone();
        tokio::spawn(async move {
            let Some(namespace) = io.of(LIVE_NAMESPACE) else {
                return;
            };
            if let Err(error) = namespace.to(room).emit(CHANGED_EVENT, &entity).await {
                tracing::debug!(
                    %error,
                    entity,
                    "a live-query notification was not sent to every socket"
                );
            }
        });
    }
}

/// One table that matters to live queries.
#[derive(Debug, Default)]
struct WatchedTable {
    /// The entity name clients know it by, when a live query reads it.
    entity: Option<String>,
    /// Its columns that hold the owning user's id (or the user table's key).
    owner_schema: Option<TableSchema>,
    /// The tables whose rows a deletion here changes (foreign keys with `onDelete: Cascade` or
    /// `SetNull`), with whether their foreign key is an owner column (then the deleted rows'
    /// owners are theirs too: a deleted user's tasks).
    cascades_into: Vec<(String, bool)>,
}

/// The live queries' hub: listens to committed changes and tells the rooms concerned.
#[derive(Clone)]
pub struct LiveHub {
    shared: Arc<HubShared>,
}

struct HubShared {
    tables: HashMap<String, WatchedTable>,
    queries: HashMap<String, LiveQuery>,
    throttle: Throttle,
}

impl std::fmt::Debug for LiveHub {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("LiveHub")
            .field("queries", &self.shared.queries.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl LiveHub {
    /// A hub for `queries` over the app's `tables` (the user table among them, named
    /// `user_table`), sending through socketioxide.
    pub(crate) fn new(
        queries: Vec<LiveQuery>,
        tables: &[&TableSchema],
        user_table: Option<&str>,
        io: SocketIo,
        window: Duration,
    ) -> Self {
        LiveHub::with_sender(
            queries,
            tables,
            user_table,
            Arc::new(SocketIoSender(io)),
            window,
        )
    }

    fn with_sender(
        queries: Vec<LiveQuery>,
        tables: &[&TableSchema],
        user_table: Option<&str>,
        sender: Arc<dyn RoomSender>,
        window: Duration,
    ) -> Self {
        let mut watched: HashMap<String, WatchedTable> = HashMap::new();
        for query in &queries {
            for (entity, table) in &query.entities {
                watched.entry(table.clone()).or_default().entity = Some(entity.clone());
            }
        }
        // Deletions cascade: a table a live query reads changes when a row it references is
        // deleted. Followed to any depth, since the watched set only grows.
        let mut grew = true;
        while grew {
            grew = false;
            for table in tables {
                if !watched.contains_key(&table.name) {
                    continue;
                }
                for column in &table.columns {
                    let Some(foreign_key) = &column.foreign_key else {
                        continue;
                    };
                    let cascades = matches!(
                        foreign_key.on_delete,
                        Some(ReferentialAction::Cascade | ReferentialAction::SetNull)
                    );
                    if !cascades {
                        continue;
                    }
                    let by_owner = user_table == Some(foreign_key.table.as_str());
                    let parent = watched.entry(foreign_key.table.clone()).or_default();
                    if !parent
                        .cascades_into
                        .iter()
                        .any(|(child, _)| child == &table.name)
                    {
                        parent.cascades_into.push((table.name.clone(), by_owner));
                        grew = true;
                    }
                }
            }
        }
        for table in tables {
            if let Some(watched_table) = watched.get_mut(&table.name) {
                watched_table.owner_schema = owner_schema(table, user_table);
            }
        }
        let shared = Arc::new(HubShared {
            tables: watched,
            queries: queries
                .into_iter()
                .map(|query| (query.name.clone(), query))
                .collect(),
            throttle: Throttle::new(sender, window),
        });
        Throttle::start_ticker(Arc::downgrade(&shared));
        LiveHub { shared }
    }

    /// The built-in namespace that puts sockets in the rooms of the live queries they watch.
    pub(crate) fn namespace(&self) -> NamespaceConfig {
        let hub = self.clone();
        NamespaceConfig::new(LIVE_NAMESPACE).on_connect(move |connection| {
            let hub = hub.clone();
            let user = connection.user.as_ref().map(|user| user.id().clone());
            connection.socket.on(
                WATCH_EVENT,
                async move |socket: SocketRef,
                            ack: socketioxide::extract::AckSender<AppAdapter>,
                            TryData(names): TryData<Vec<String>>| {
                    let accepted = hub.watch(&socket, user.as_ref(), names.unwrap_or_default());
                    ack.send(&accepted).ok();
                },
            );
            async {}
        })
    }

    /// Puts `socket` in exactly the rooms of the named live queries (unknown names are
    /// ignored) and returns the names it accepted.
    fn watch(&self, socket: &SocketRef, user: Option<&UserId>, names: Vec<String>) -> Vec<String> {
        let (accepted, rooms) = self.rooms_for(user, names);
        for room in socket.rooms() {
            if room.starts_with(ROOM_PREFIX) && !rooms.contains(room.as_ref()) {
                socket.leave(room);
            }
        }
        socket.join(rooms.into_iter().collect::<Vec<_>>());
        accepted
    }

    /// The live queries among `names` that `user` may watch, and their rooms.
    fn rooms_for(
        &self,
        user: Option<&UserId>,
        names: Vec<String>,
    ) -> (Vec<String>, BTreeSet<String>) {
        let mut accepted = Vec::new();
        let mut rooms = BTreeSet::new();
        for name in names {
            let Some(query) = self.shared.queries.get(&name) else {
                continue;
            };
            let query_rooms = query.rooms(user);
            if query_rooms.is_empty() || accepted.contains(&name) {
                continue;
            }
            rooms.extend(query_rooms);
            accepted.push(name);
        }
        (accepted, rooms)
    }

    /// The rooms a committed change concerns, with the entity each is told about.
    fn rooms_of(&self, change: &TableChange, rooms: &mut Vec<(String, String)>) {
        let mut seen = HashSet::new();
        self.collect_rooms(change, rooms, &mut seen);
    }

    fn collect_rooms(
        &self,
        change: &TableChange,
        rooms: &mut Vec<(String, String)>,
        seen: &mut HashSet<String>,
    ) {
        if !seen.insert(change.table.clone()) {
            return;
        }
        let Some(table) = self.shared.tables.get(&change.table) else {
            return;
        };
        if let Some(entity) = &table.entity {
            rooms.push((entity_room(entity), entity.clone()));
            match &change.owners {
                Some(owners) => rooms.extend(
                    owners
                        .iter()
                        .map(|owner| (user_room(entity, owner), entity.clone())),
                ),
                // No scoped query reads a table without owner columns (the analyzer checks).
                None if table.owner_schema.is_some() => {
                    rooms.push((all_users_room(entity), entity.clone()));
                }
                None => {}
            }
        }
        if change.deleted {
            for (child, by_owner) in &table.cascades_into {
                let cascaded = TableChange {
                    table: child.clone(),
                    deleted: true,
                    owners: if *by_owner {
                        change.owners.clone()
                    } else {
                        None
                    },
                };
                self.collect_rooms(&cascaded, rooms, seen);
            }
        }
    }
}

/// The columns of `table` that hold a user's id: those referencing the user table, or the user
/// table's own key.
fn owner_schema(table: &TableSchema, user_table: Option<&str>) -> Option<TableSchema> {
    let user_table = user_table?;
    let mut schema = TableSchema::new(table.name.clone());
    for column in &table.columns {
        let owns = if table.name == user_table {
            column.primary_key
        } else {
            column
                .foreign_key
                .as_ref()
                .is_some_and(|foreign_key| foreign_key.table == user_table)
        };
        if owns {
            schema = schema.column(column.clone());
        }
    }
    (!schema.columns.is_empty()).then_some(schema)
}

impl ChangeListener for LiveHub {
    fn watches(&self, table: &str) -> bool {
        self.shared.tables.contains_key(table)
    }

    fn owner_schema(&self, table: &str) -> Option<&TableSchema> {
        self.shared.tables.get(table)?.owner_schema.as_ref()
    }

    fn committed(&self, changes: Vec<TableChange>) {
        let mut rooms = Vec::new();
        for change in &changes {
            self.rooms_of(change, &mut rooms);
        }
        self.shared.throttle.note(rooms);
    }
}

/// At most one `changed` per room per window: a room told of nothing in the last window is
/// told at once; later changes mark it pending, and a ticker (every quarter window while any
/// room is recent) sends pending rooms whose window has passed and forgets the quiet ones.
struct Throttle {
    sender: Arc<dyn RoomSender>,
    window: Duration,
    rooms: Mutex<HashMap<String, RoomState>>,
    /// Wakes the ticker when the first room becomes recent.
    wake: tokio::sync::Notify,
}

struct RoomState {
    entity: String,
    last_sent: Instant,
    pending: bool,
}

impl Throttle {
    fn new(sender: Arc<dyn RoomSender>, window: Duration) -> Self {
        Throttle {
            sender,
            window,
            rooms: Mutex::new(HashMap::new()),
            wake: tokio::sync::Notify::new(),
        }
    }

    fn note(&self, changed: Vec<(String, String)>) {
        if changed.is_empty() {
            return;
        }
        let now = Instant::now();
        let mut send_now = Vec::new();
        {
            let mut rooms = self
                .rooms
                .lock()
                .unwrap_or_else(|poison| poison.into_inner());
            for (room, entity) in changed {
                match rooms.get_mut(&room) {
                    Some(state) if now.duration_since(state.last_sent) < self.window => {
                        state.pending = true;
                    }
                    Some(state) => {
                        state.last_sent = now;
                        state.pending = false;
                        send_now.push((room, entity));
                    }
                    None => {
                        rooms.insert(
                            room.clone(),
                            RoomState {
                                entity: entity.clone(),
                                last_sent: now,
                                pending: false,
                            },
                        );
                        send_now.push((room, entity));
                    }
                }
            }
        }
        self.wake.notify_one();
        for (room, entity) in send_now {
            self.sender.send(room, entity);
        }
    }

    /// One tick: sends the pending rooms whose window has passed; `false` when no room is
    /// recent any more (the ticker then sleeps until woken).
    fn tick(&self) -> bool {
        let now = Instant::now();
        let mut due = Vec::new();
        let any_left = {
            let mut rooms = self
                .rooms
                .lock()
                .unwrap_or_else(|poison| poison.into_inner());
            rooms.retain(|room, state| {
                if now.duration_since(state.last_sent) < self.window {
                    return true;
                }
                if state.pending {
                    state.pending = false;
                    state.last_sent = now;
                    due.push((room.clone(), state.entity.clone()));
                    return true;
                }
                false
            });
            !rooms.is_empty()
        };
        for (room, entity) in due {
            self.sender.send(room, entity);
        }
        any_left
    }

    /// Runs the ticker for as long as the hub lives.
    fn start_ticker(hub: Weak<HubShared>) {
        tokio::spawn(async move {
            loop {
                let Some(shared) = hub.upgrade() else { return };
                let throttle = &shared.throttle;
                let period = throttle.window / 4;
                if throttle.tick() {
                    drop(shared);
                    tokio::time::sleep(period).await;
                } else {
                    // Woken by the next change (a permit stored meanwhile wakes it at once);
                    // every few seconds it lets go of the hub, so the task ends with it.
                    let _ = tokio::time::timeout(Duration::from_secs(5), throttle.wake.notified())
                        .await;
                }
            }
        });
    }
}

#[cfg(test)]
mod tests;
