//! The shared board: every signed-in user reads every note and adds their own. Nothing here
//! sends anything to other users: `getNotes` is a live query, so once a note is committed the
//! runtime runs `get_notes` again for each user whose page shows the board and pushes the result.

use crate::app::entities::{NewNote, Note};
use crate::app::operations::{CreateNoteContext, GetNotesContext};
use crate::app::types::NewNoteInput;
use appc_runtime::{HttpError, Query};

pub async fn get_notes(ctx: GetNotesContext) -> Result<Vec<Note>, HttpError> {
    let notes = ctx
        .entities
        .note
        .find_many(Query::new().order_by(Note::ID.asc()))
        .await?;
    Ok(notes)
}

pub async fn create_note(input: NewNoteInput, ctx: CreateNoteContext) -> Result<Note, HttpError> {
    let text = input.text.trim();
    if text.is_empty() {
        return Err(HttpError::bad_request_field(
            "text",
            "the note is empty; write something to share",
        ));
    }
    let note = ctx
        .entities
        .note
        .create(NewNote {
            text: text.to_owned(),
            user_id: ctx.user.id,
            ..NewNote::default()
        })
        .await?;
    Ok(note)
}
