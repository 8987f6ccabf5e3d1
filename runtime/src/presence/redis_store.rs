//! Presence shared through Redis (`REDIS_URL`), so every process lists the same entries.
//!
//! Each process has a random id and writes only its own keys (all under `<prefix>:presence:`,
//! where the prefix is the deployment's `APPC_REDIS_PREFIX`, `appc:<app name>` by default, so
//! apps sharing a Redis do not list each other's members):
//! `members:{process}:{topic}`, a hash of its sockets in one topic (socket id -> member as
//! JSON), `topics:{process}`, the set of its topics, and `alive:{process}`, a heartbeat key
//! whose expiry (the TTL, 15 s) it refreshes every heartbeat (5 s). The set `processes` names
//! every process that wrote. A list reads the members of the processes whose heartbeat is
//! alive, so a process that died (or lost Redis) drops out of every list within the TTL; at
//! each heartbeat every process also sweeps: the first to remove a dead process from
//! `processes` deletes its keys and gets its members back, whose leaves the caller announces.
//!
//! The process keeps its own members in memory ([`LocalEntries`]) as well: when its heartbeat
//! finds its key gone (Redis restarted, or the process was thought dead) or a write failed, it
//! writes them all again.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use redis::AsyncCommands;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::local::{self, LocalEntries};
use super::model::{Member, PresenceChange, PresenceEntry, PresenceError, PresenceTimings, Topic};

/// The prefix of every key presence writes, under the deployment's Redis prefix.
pub(crate) fn keys_prefix(redis_prefix: &str) -> String {
    format!("{redis_prefix}:presence:")
}

/// The Redis store of one process.
pub(crate) struct RedisStore {
    connection: ConnectionManager,
    /// [`keys_prefix`] of the deployment's Redis prefix.
    prefix: String,
    process_id: String,
    timings: PresenceTimings,
    local: Mutex<LocalEntries>,
    /// Set when a write to Redis failed: the next heartbeat writes every member again.
    republish: AtomicBool,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("RedisStore")
            .field("process_id", &self.process_id)
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// A store on `url` that connects on first use and reconnects after an outage; operations
    /// wait at most `timings.redis_timeout` for an answer.
    pub(crate) fn new(
        url: &str,
        prefix: &str,
        timings: PresenceTimings,
    ) -> Result<RedisStore, PresenceError> {
        let client = redis::Client::open(url)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timings.redis_timeout))
            .set_response_timeout(Some(timings.redis_timeout))
            // One attempt per command: the heartbeat tries again a few seconds later anyway,
            // and a socket's join should not wait through a series of reconnections.
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_secs(1));
        let connection = ConnectionManager::new_lazy_with_config(client, config)?;
        Ok(RedisStore {
            connection,
            prefix: prefix.to_owned(),
            process_id: uuid::Uuid::new_v4().simple().to_string(),
            timings,
            local: Mutex::new(LocalEntries::default()),
            republish: AtomicBool::new(false),
        })
    }

    fn local(&self) -> std::sync::MutexGuard<'_, LocalEntries> {
        self.local
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Adds a socket to a topic; `None` when it was already there.
    pub(crate) async fn join(
        &self,
        topic: &Topic,
        socket_id: &str,
        member: Member,
    ) -> Result<Option<PresenceChange>, PresenceError> {
        if !self.local().insert(topic, socket_id, member.clone()) {
            return Ok(None);
        }
        let written = redis::pipe()
            .atomic()
            .hset(
                self.members_key(&self.process_id, &topic_id(topic)),
                socket_id,
                member_json(&member),
            )
            .sadd(self.topics_key(&self.process_id), topic_id(topic))
            .exec_async(&mut self.connection.clone())
            .await;
        self.note_write(written)?;
        let entries = self.list(topic).await?;
        Ok(Some(local::change_from(&entries, &member, true)))
    }

    /// Removes a socket from a topic; `None` when it was not there.
    pub(crate) async fn leave(
        &self,
        topic: &Topic,
        socket_id: &str,
    ) -> Result<Option<PresenceChange>, PresenceError> {
        let Some(member) = self.local().remove(topic, socket_id) else {
            return Ok(None);
        };
        let removed: redis::RedisResult<()> = self
            .connection
            .clone()
            .hdel(
                self.members_key(&self.process_id, &topic_id(topic)),
                socket_id,
            )
            .await;
        self.note_write(removed)?;
        let entries = self.list(topic).await?;
        Ok(Some(local::change_from(&entries, &member, false)))
    }

    /// The presence keys of this process's sockets in a topic.
    pub(crate) fn member_keys(&self, topic: &Topic) -> std::collections::HashSet<String> {
        self.local()
            .members(topic)
            .map(|(_, member)| member.key.clone())
            .collect()
    }

    /// The topics a socket of this process is in.
    pub(crate) fn topics_of(&self, socket_id: &str) -> Vec<Topic> {
        self.local().topics_of(socket_id)
    }

    /// The entries of a topic over every live process.
    pub(crate) async fn list(&self, topic: &Topic) -> Result<Vec<PresenceEntry>, PresenceError> {
        let mut connection = self.connection.clone();
        let process_ids = self.live_processes(&mut connection).await?;
        let mut pipeline = redis::pipe();
        for process_id in &process_ids {
            pipeline.hvals(self.members_key(process_id, &topic_id(topic)));
        }
        let member_lists: Vec<Vec<String>> = pipeline.query_async(&mut connection).await?;
        let members: Vec<Member> = member_lists
            .iter()
            .flatten()
            .filter_map(|json| serde_json::from_str(json).ok())
            .collect();
        Ok(local::entries(members.iter()))
    }

    /// The processes whose heartbeat is alive, this one always included.
    async fn live_processes(
        &self,
        connection: &mut ConnectionManager,
    ) -> Result<Vec<String>, PresenceError> {
        let process_ids: Vec<String> = connection.smembers(self.processes_key()).await?;
        let others: Vec<String> = process_ids
            .into_iter()
            .filter(|process_id| *process_id != self.process_id)
            .collect();
        if others.is_empty() {
            return Ok(vec![self.process_id.clone()]);
        }
        let mut pipeline = redis::pipe();
        for process_id in &others {
            pipeline.exists(self.alive_key(process_id));
        }
        let alive: Vec<bool> = pipeline.query_async(connection).await?;
        let mut live: Vec<String> = others
            .into_iter()
            .zip(alive)
            .filter_map(|(process_id, alive)| alive.then_some(process_id))
            .collect();
        live.push(self.process_id.clone());
        Ok(live)
    }

    /// Refreshes this process's heartbeat and names it in `processes`. When Redis had lost the
    /// heartbeat (a restart, or the process was swept as dead) or a write failed since the
    /// last one, writes every member of this process again and returns the topics written, so
    /// their entries can be announced again.
    pub(crate) async fn heartbeat(&self) -> Result<Vec<Topic>, PresenceError> {
        let mut connection = self.connection.clone();
        let ttl_seconds = self.timings.ttl.as_secs().max(1);
        let previous: Option<String> = redis::cmd("SET")
            .arg(self.alive_key(&self.process_id))
            .arg(1)
            .arg("EX")
            .arg(ttl_seconds)
            .arg("GET")
            .query_async(&mut connection)
            .await?;
        let _: () = connection
            .sadd(self.processes_key(), &self.process_id)
            .await?;
        let republish = self.republish.swap(false, Ordering::SeqCst);
        if previous.is_some() && !republish {
            return Ok(Vec::new());
        }
        let snapshot: Vec<(Topic, Vec<(String, String)>)> = self
            .local()
            .all()
            .map(|(topic, members)| {
                let members = members
                    .iter()
                    .map(|(socket_id, member)| (socket_id.clone(), member_json(member)))
                    .collect();
                (topic.clone(), members)
            })
            .collect();
        let mut pipeline = redis::pipe();
        pipeline.atomic();
        let old_topics: Vec<String> = connection
            .smembers(self.topics_key(&self.process_id))
            .await?;
        for old_topic in &old_topics {
            pipeline.del(self.members_key(&self.process_id, old_topic));
        }
        pipeline.del(self.topics_key(&self.process_id));
        for (topic, members) in &snapshot {
            pipeline.hset_multiple(
                self.members_key(&self.process_id, &topic_id(topic)),
                members,
            );
            pipeline.sadd(self.topics_key(&self.process_id), topic_id(topic));
        }
        let written = pipeline.exec_async(&mut connection).await;
        if let Err(error) = written {
            self.republish.store(true, Ordering::SeqCst);
            return Err(error.into());
        }
        Ok(snapshot.into_iter().map(|(topic, _)| topic).collect())
    }

    /// Removes the processes whose heartbeat expired, with their members, and returns what
    /// that changed in each topic (a leave, or an update when the user is still connected
    /// elsewhere). Several processes may sweep at once: only the one whose `SREM` removed a
    /// dead process deletes and reports it.
    pub(crate) async fn sweep(&self) -> Result<Vec<(Topic, PresenceChange)>, PresenceError> {
        let mut connection = self.connection.clone();
        let process_ids: Vec<String> = connection.smembers(self.processes_key()).await?;
        let mut changes = Vec::new();
        for process_id in process_ids {
            if process_id == self.process_id {
                continue;
            }
            let alive: bool = connection.exists(self.alive_key(&process_id)).await?;
            if alive {
                continue;
            }
            let claimed: u32 = connection.srem(self.processes_key(), &process_id).await?;
            if claimed == 0 {
                continue;
            }
            let topic_ids: Vec<String> = connection.smembers(self.topics_key(&process_id)).await?;
            let mut dead_members: HashMap<Topic, Vec<Member>> = HashMap::new();
            for topic_id in &topic_ids {
                let Ok(topic) = serde_json::from_str::<Topic>(topic_id) else {
                    continue;
                };
                let key = self.members_key(&process_id, topic_id);
                let members: Vec<String> = connection.hvals(&key).await?;
                let _: () = connection.del(&key).await?;
                dead_members.entry(topic).or_default().extend(
                    members
                        .iter()
                        .filter_map(|json| serde_json::from_str::<Member>(json).ok()),
                );
            }
            let _: () = connection.del(self.topics_key(&process_id)).await?;
            tracing::info!(
                process = %process_id,
                topics = dead_members.len(),
                "presence: removed the entries of a process whose heartbeat expired"
            );
            for (topic, members) in dead_members {
                let entries = self.list(&topic).await?;
                let mut announced_keys = std::collections::HashSet::new();
                for member in members {
                    if announced_keys.insert(member.key.clone()) {
                        changes.push((topic.clone(), local::change_from(&entries, &member, false)));
                    }
                }
            }
        }
        Ok(changes)
    }

    fn note_write(&self, result: redis::RedisResult<()>) -> Result<(), PresenceError> {
        result.map_err(|error| {
            self.republish.store(true, Ordering::SeqCst);
            PresenceError::from(error)
        })
    }
}

impl RedisStore {
    fn processes_key(&self) -> String {
        format!("{}processes", self.prefix)
    }

    fn alive_key(&self, process_id: &str) -> String {
        format!("{}alive:{process_id}", self.prefix)
    }

    fn topics_key(&self, process_id: &str) -> String {
        format!("{}topics:{process_id}", self.prefix)
    }

    fn members_key(&self, process_id: &str, topic_id: &str) -> String {
        format!("{}members:{process_id}:{topic_id}", self.prefix)
    }
}

/// A topic as one unambiguous string (JSON), whatever its namespace and room contain.
fn topic_id(topic: &Topic) -> String {
    serde_json::to_string(topic).unwrap_or_default()
}

fn member_json(member: &Member) -> String {
    serde_json::to_string(member).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    //! Against a real redis-server at `APPC_TEST_REDIS_URL` (`tests/support/start-redis.sh`);
    //! skipped when it is unset, except under `CI`, where a skipped test would hide a failure.
    //! Each test writes under its own prefix, so tests share one Redis.

    use super::*;
    use crate::test_redis::redis_url;

    fn timings() -> PresenceTimings {
        PresenceTimings {
            heartbeat_interval: Duration::from_millis(200),
            ttl: Duration::from_secs(1),
            redis_timeout: Duration::from_secs(2),
        }
    }

    fn store(url: &str, prefix: &str) -> RedisStore {
        RedisStore::new(url, prefix, timings()).unwrap()
    }

    fn user(id: i64, name: &str) -> Member {
        Member {
            key: format!("user:{id}"),
            user_id: Some(serde_json::json!(id)),
            username: Some(name.to_owned()),
        }
    }

    fn connections(entries: &[PresenceEntry]) -> Vec<(String, u32)> {
        entries
            .iter()
            .map(|entry| (entry.key.clone(), entry.connections))
            .collect()
    }

    #[tokio::test]
    async fn two_processes_list_the_same_users_and_a_silent_one_expires_after_its_ttl() {
        let Some(url) = redis_url() else { return };
        let prefix = format!("test:{}:", uuid::Uuid::new_v4().simple());
        let (first, second) = (store(&url, &prefix), store(&url, &prefix));
        first.heartbeat().await.unwrap();
        second.heartbeat().await.unwrap();
        let chat = Topic::namespace("/");

        let joined = first.join(&chat, "a1", user(1, "ada")).await.unwrap();
        assert_eq!(joined, Some(PresenceChange::Join(user(1, "ada").entry(1))));
        // The same user in a second tab, served by the other process: one entry, two sockets.
        let joined = second.join(&chat, "b1", user(1, "ada")).await.unwrap();
        assert_eq!(
            joined,
            Some(PresenceChange::Update(user(1, "ada").entry(2)))
        );
        let joined = second
            .join(&chat, "b2", Member::anonymous("b2"))
            .await
            .unwrap();
        assert_eq!(
            joined,
            Some(PresenceChange::Join(Member::anonymous("b2").entry(1)))
        );
        assert_eq!(
            second
                .join(&chat, "b2", Member::anonymous("b2"))
                .await
                .unwrap(),
            None
        );

        let expected = vec![("socket:b2".to_owned(), 1), ("user:1".to_owned(), 2)];
        assert_eq!(connections(&first.list(&chat).await.unwrap()), expected);
        assert_eq!(connections(&second.list(&chat).await.unwrap()), expected);

        // The second process dies: its heartbeat is not refreshed. Past the TTL its sockets
        // are gone from every list, before any sweep.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        first.heartbeat().await.unwrap();
        assert_eq!(
            connections(&first.list(&chat).await.unwrap()),
            vec![("user:1".to_owned(), 1)]
        );

        // One sweep removes its keys and reports what changed; a second sweeper finds nothing.
        let mut changes = first.sweep().await.unwrap();
        changes.sort_by_key(|(_, change)| format!("{change:?}"));
        assert_eq!(
            changes,
            vec![
                (
                    chat.clone(),
                    PresenceChange::Leave(Member::anonymous("b2").entry(0))
                ),
                (
                    chat.clone(),
                    PresenceChange::Update(user(1, "ada").entry(1))
                ),
            ]
        );
        let third = store(&url, &prefix);
        third.heartbeat().await.unwrap();
        assert_eq!(third.sweep().await.unwrap(), Vec::new());
        let mut connection = first.connection.clone();
        let left: Vec<String> = connection
            .keys(format!("{prefix}*{}*", second.process_id))
            .await
            .unwrap();
        assert_eq!(
            left,
            Vec::<String>::new(),
            "the dead process's keys are deleted"
        );

        // The second process was only paused: its next heartbeat writes its sockets again.
        let republished = second.heartbeat().await.unwrap();
        assert_eq!(republished, vec![chat.clone()]);
        assert_eq!(connections(&third.list(&chat).await.unwrap()), expected);

        // Its last tab closed, the user leaves.
        second.leave(&chat, "b1").await.unwrap();
        let left = first.leave(&chat, "a1").await.unwrap();
        assert_eq!(left, Some(PresenceChange::Leave(user(1, "ada").entry(0))));
        assert_eq!(first.leave(&chat, "a1").await.unwrap(), None);
        assert_eq!(
            connections(&third.list(&chat).await.unwrap()),
            vec![("socket:b2".to_owned(), 1)]
        );
    }

    #[tokio::test]
    async fn entries_lost_by_redis_are_written_again_at_the_next_heartbeat() {
        let Some(url) = redis_url() else { return };
        let prefix = format!("test:{}:", uuid::Uuid::new_v4().simple());
        let store = store(&url, &prefix);
        store.heartbeat().await.unwrap();
        let lobby = Topic::room("/", "lobby");
        store.join(&lobby, "a1", user(7, "grace")).await.unwrap();
        // What a Redis restart without persistence does to this process's keys.
        let mut connection = store.connection.clone();
        let keys: Vec<String> = connection.keys(format!("{prefix}*")).await.unwrap();
        let _: () = connection.del(keys).await.unwrap();
        assert_eq!(store.list(&lobby).await.unwrap(), Vec::new());
        assert_eq!(store.heartbeat().await.unwrap(), vec![lobby.clone()]);
        assert_eq!(
            connections(&store.list(&lobby).await.unwrap()),
            vec![("user:7".to_owned(), 1)]
        );
        // Nothing was lost this time: nothing is written again.
        assert_eq!(store.heartbeat().await.unwrap(), Vec::new());
    }

    #[tokio::test]
    async fn apps_with_different_redis_prefixes_do_not_see_each_others_entries() {
        let Some(url) = redis_url() else { return };
        let run = uuid::Uuid::new_v4().simple().to_string();
        // Two apps (or a staging and a production deployment) on one Redis, with the same topic.
        let shop = store(&url, &keys_prefix(&format!("test:{run}:shop")));
        let blog = store(&url, &keys_prefix(&format!("test:{run}:blog")));
        shop.heartbeat().await.unwrap();
        blog.heartbeat().await.unwrap();
        let chat = Topic::namespace("/");
        let joined = shop.join(&chat, "s1", user(1, "ada")).await.unwrap();
        assert_eq!(joined, Some(PresenceChange::Join(user(1, "ada").entry(1))));
        // The same user key in the other app is a first join there, not a second connection.
        let joined = blog.join(&chat, "b1", user(1, "ada")).await.unwrap();
        assert_eq!(joined, Some(PresenceChange::Join(user(1, "ada").entry(1))));
        blog.join(&chat, "b2", user(2, "grace")).await.unwrap();

        assert_eq!(
            connections(&shop.list(&chat).await.unwrap()),
            vec![("user:1".to_owned(), 1)]
        );
        assert_eq!(
            connections(&blog.list(&chat).await.unwrap()),
            vec![("user:1".to_owned(), 1), ("user:2".to_owned(), 1)]
        );
        // Neither sweeps the other's process away: each sees only its own processes.
        assert_eq!(shop.sweep().await.unwrap(), Vec::new());
        assert_eq!(blog.sweep().await.unwrap(), Vec::new());
        let mut connection = shop.connection.clone();
        let shop_keys: Vec<String> = connection.keys(format!("test:{run}:shop:*")).await.unwrap();
        assert!(
            !shop_keys.is_empty()
                && shop_keys
                    .iter()
                    .all(|key| key.starts_with(&format!("test:{run}:shop:presence:"))),
            "{shop_keys:?}"
        );
        let left = shop.leave(&chat, "s1").await.unwrap();
        assert_eq!(left, Some(PresenceChange::Leave(user(1, "ada").entry(0))));
        assert_eq!(
            connections(&blog.list(&chat).await.unwrap()),
            vec![("user:1".to_owned(), 1), ("user:2".to_owned(), 1)]
        );
    }

    #[tokio::test]
    async fn a_redis_that_does_not_answer_fails_within_the_timeout() {
        // A server that accepts connections and never answers.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let held = tokio::spawn(async move {
            let mut connections = Vec::new();
            while let Ok((connection, _)) = listener.accept().await {
                connections.push(connection);
            }
        });
        let timings = PresenceTimings {
            redis_timeout: Duration::from_millis(300),
            ..timings()
        };
        let store = RedisStore::new(&format!("redis://{address}"), "test:", timings).unwrap();
        let started = std::time::Instant::now();
        let joined = store
            .join(&Topic::namespace("/"), "a1", user(1, "ada"))
            .await;
        assert!(joined.is_err(), "{joined:?}");
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "took {:?}",
            started.elapsed()
        );
        // The failed write is remembered: the next heartbeat that reaches Redis writes it again.
        assert!(store.republish.load(Ordering::SeqCst));
        held.abort();
    }
}
