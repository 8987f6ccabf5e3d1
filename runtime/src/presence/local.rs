//! The presence entries of one process, kept in memory: which sockets are in which topic (a
//! namespace, or a room of it) under which presence key. Without `REDIS_URL` this is the whole
//! store; with it, the Redis store keeps its own process's entries here too, to publish them
//! again after Redis lost them and to know what a socket was in when it disconnects.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::model::{Member, PresenceChange, PresenceEntry, Topic};

/// Sockets by topic, and topics by socket.
#[derive(Debug, Default)]
pub(crate) struct LocalEntries {
    members_by_topic: HashMap<Topic, HashMap<String, Member>>,
    topics_by_socket: HashMap<String, HashSet<Topic>>,
}

impl LocalEntries {
    /// Adds `socket_id` to `topic` as `member`; false when it was already there.
    pub(crate) fn insert(&mut self, topic: &Topic, socket_id: &str, member: Member) -> bool {
        let added = self
            .members_by_topic
            .entry(topic.clone())
            .or_default()
            .insert(socket_id.to_owned(), member)
            .is_none();
        self.topics_by_socket
            .entry(socket_id.to_owned())
            .or_default()
            .insert(topic.clone());
        added
    }

    /// Removes `socket_id` from `topic`, giving back its member when it was there.
    pub(crate) fn remove(&mut self, topic: &Topic, socket_id: &str) -> Option<Member> {
        let members = self.members_by_topic.get_mut(topic)?;
        let member = members.remove(socket_id)?;
        if members.is_empty() {
            self.members_by_topic.remove(topic);
        }
        if let Some(topics) = self.topics_by_socket.get_mut(socket_id) {
            topics.remove(topic);
            if topics.is_empty() {
                self.topics_by_socket.remove(socket_id);
            }
        }
        Some(member)
    }

    /// The topics `socket_id` is in.
    pub(crate) fn topics_of(&self, socket_id: &str) -> Vec<Topic> {
        self.topics_by_socket
            .get(socket_id)
            .map(|topics| topics.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// The members of `topic` by socket id.
    pub(crate) fn members(&self, topic: &Topic) -> impl Iterator<Item = (&String, &Member)> {
        self.members_by_topic.get(topic).into_iter().flatten()
    }

    /// Every topic with its members by socket id.
    pub(crate) fn all(&self) -> impl Iterator<Item = (&Topic, &HashMap<String, Member>)> {
        self.members_by_topic.iter()
    }

    /// The entries of `topic`, one per presence key.
    pub(crate) fn list(&self, topic: &Topic) -> Vec<PresenceEntry> {
        entries(self.members(topic).map(|(_, member)| member))
    }

    /// What a socket of `member` joining (`after_join`) or leaving `topic` changed there.
    pub(crate) fn change_of(
        &self,
        topic: &Topic,
        member: &Member,
        after_join: bool,
    ) -> PresenceChange {
        change_from(&self.list(topic), member, after_join)
    }
}

/// Folds sockets' members into one entry per presence key (a user's tabs are one entry), in
/// key order so lists read the same from every process.
pub(crate) fn entries<'m>(members: impl Iterator<Item = &'m Member>) -> Vec<PresenceEntry> {
    let mut by_key: BTreeMap<&str, PresenceEntry> = BTreeMap::new();
    for member in members {
        by_key
            .entry(&member.key)
            .and_modify(|entry| entry.connections += 1)
            .or_insert_with(|| member.entry(1));
    }
    by_key.into_values().collect()
}

/// What a socket of `member` joining (`after_join`) or leaving changed, read from the topic's
/// entries after it: the key's first socket is a join, its last one gone a leave, anything else
/// an update of its connection count.
pub(crate) fn change_from(
    entries_after: &[PresenceEntry],
    member: &Member,
    after_join: bool,
) -> PresenceChange {
    match entries_after.iter().find(|entry| entry.key == member.key) {
        Some(entry) if after_join && entry.connections == 1 => PresenceChange::Join(entry.clone()),
        Some(entry) => PresenceChange::Update(entry.clone()),
        None => PresenceChange::Leave(member.entry(0)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: i64, name: &str) -> Member {
        Member {
            key: format!("user:{id}"),
            user_id: Some(serde_json::json!(id)),
            username: Some(name.to_owned()),
        }
    }

    #[test]
    fn two_tabs_of_one_user_are_one_entry_with_two_connections() {
        let topic = Topic::namespace("/");
        let mut local = LocalEntries::default();
        assert!(local.insert(&topic, "a", user(1, "ada")));
        assert!(local.insert(&topic, "b", user(1, "ada")));
        local.insert(&topic, "c", Member::anonymous("c"));
        let list = local.list(&topic);
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].key, "socket:c");
        assert_eq!(list[1].key, "user:1");
        assert_eq!(list[1].connections, 2);
        assert_eq!(list[1].username.as_deref(), Some("ada"));

        let member = local.remove(&topic, "a").unwrap();
        assert_eq!(
            local.change_of(&topic, &member, false),
            PresenceChange::Update(user(1, "ada").entry(1))
        );
        let member = local.remove(&topic, "b").unwrap();
        assert_eq!(
            local.change_of(&topic, &member, false),
            PresenceChange::Leave(user(1, "ada").entry(0))
        );
        assert_eq!(local.remove(&topic, "b"), None);
    }

    #[test]
    fn a_socket_remembers_its_topics_until_it_leaves_them() {
        let lobby = Topic::room("/", "lobby");
        let namespace = Topic::namespace("/");
        let mut local = LocalEntries::default();
        local.insert(&namespace, "a", user(1, "ada"));
        local.insert(&lobby, "a", user(1, "ada"));
        let mut topics = local.topics_of("a");
        topics.sort();
        assert_eq!(topics, vec![namespace.clone(), lobby.clone()]);
        local.remove(&namespace, "a");
        local.remove(&lobby, "a");
        assert!(local.topics_of("a").is_empty());
        assert_eq!(local.all().count(), 0, "empty topics are dropped");
    }
}
