// The signed-in user's task list: `getTasks` through `useQuery`, and the three actions through
// `useAction`. Each action invalidates `getTasks` (they share the `Task` entity), so the list
// refetches by itself; ticking and deleting also change the cached list at once (optimistic
// updates), and a refused action puts the old list back. Below it, the board every signed-in
// user shares (`getNotes`). Both queries are live: a change made in another tab or by another
// user shows here without a reload, and `useLiveStatus` says whether such updates flow.
import { useState, type FormEvent } from "react";
import {
  OperationError,
  createNote,
  createTask,
  deleteTask,
  getNotes,
  getTasks,
  updateTask,
  useAction,
  useLiveStatus,
  useQuery,
} from "@appc/operations";
import { Link } from "@appc/router";
import type { Task } from "@appc/types";
import { Layout } from "./Layout";

export function MainPage() {
  const { data: tasks, isPending, error } = useQuery(getTasks);
  const createTaskFn = useAction(createTask);
  const updateTaskFn = useAction(updateTask, {
    optimisticUpdates: [
      {
        getQuerySpecifier: () => [getTasks],
        updateQuery: ({ id, isDone }, oldTasks) =>
          (oldTasks ?? []).map((task) => (task.id === id ? { ...task, isDone } : task)),
      },
    ],
  });
  const deleteTaskFn = useAction(deleteTask, {
    optimisticUpdates: [
      {
        getQuerySpecifier: () => [getTasks],
        updateQuery: ({ id }, oldTasks) => (oldTasks ?? []).filter((task) => task.id !== id),
      },
    ],
  });
  const [description, setDescription] = useState("");
  const [problem, setProblem] = useState<string | null>(null);

  /** Runs an action and shows its refusal, in the server's words, above the list. */
  async function run(action: () => Promise<unknown>): Promise<boolean> {
    setProblem(null);
    try {
      await action();
      return true;
    } catch (caught) {
      setProblem(caught instanceof OperationError ? caught.message : String(caught));
      return false;
    }
  }

  async function add(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    if (await run(() => createTaskFn({ description }))) {
      setDescription("");
    }
  }

  const remaining = tasks?.filter((task) => !task.isDone).length ?? 0;
  const liveStatus = useLiveStatus();
  return (
    <Layout>
      <p className="live-status" data-testid="live-status" data-status={liveStatus}>
        {liveStatus === "live" ? "Live" : liveStatus === "off" ? "" : "Reconnecting…"}
      </p>
      <h1>Tasks</h1>
      <form className="new-task" onSubmit={add}>
        <input
          aria-label="New task"
          placeholder="What needs doing?"
          value={description}
          onChange={(event) => setDescription(event.target.value)}
        />
        <button type="submit">Add</button>
      </form>
      {problem === null ? null : (
        <p className="error" role="alert">
          {problem}
        </p>
      )}
      {isPending ? <p>Loading…</p> : null}
      {error === null ? null : <p className="error">The tasks could not be loaded: {error.message}</p>}
      {tasks === undefined ? null : (
        <>
          <ul className="tasks">
            {tasks.map((task) => (
              <TaskItem
                key={task.id}
                task={task}
                toggle={() => run(() => updateTaskFn({ id: task.id, isDone: !task.isDone }))}
                remove={() => run(() => deleteTaskFn({ id: task.id }))}
              />
            ))}
          </ul>
          <p data-testid="remaining">
            {tasks.length === 0 ? "Nothing to do." : `${remaining} of ${tasks.length} left`}
          </p>
        </>
      )}
      <Board />
    </Layout>
  );
}

/** The notes every signed-in user shares; another user's new note appears here by itself. */
function Board() {
  const { data: notes, error } = useQuery(getNotes);
  const createNoteFn = useAction(createNote);
  const [text, setText] = useState("");
  const [problem, setProblem] = useState<string | null>(null);

  async function add(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setProblem(null);
    try {
      await createNoteFn({ text });
      setText("");
    } catch (caught) {
      setProblem(caught instanceof OperationError ? caught.message : String(caught));
    }
  }

  return (
    <section className="board">
      <h2>Shared board</h2>
      <form className="new-task" onSubmit={add}>
        <input
          aria-label="New note"
          placeholder="Share a note with everyone"
          value={text}
          onChange={(event) => setText(event.target.value)}
        />
        <button type="submit">Share</button>
      </form>
      {problem === null ? null : (
        <p className="error" role="alert">
          {problem}
        </p>
      )}
      {error === null ? null : <p className="error">The board could not be loaded: {error.message}</p>}
      <ul className="notes">
        {(notes ?? []).map((note) => (
          <li key={note.id} data-testid="note">
            {note.text}
          </li>
        ))}
      </ul>
    </section>
  );
}

function TaskItem({ task, toggle, remove }: { task: Task; toggle: () => void; remove: () => void }) {
  return (
    <li className={task.isDone ? "task task--done" : "task"} data-testid="task">
      <label>
        <input type="checkbox" checked={task.isDone} onChange={toggle} />
        <span>{task.description}</span>
      </label>
      <Link to="/tasks/:id" params={{ id: task.id }} className="button--quiet" aria-label={`Open ${task.description}`}>
        Open
      </Link>
      <button type="button" className="button--quiet" aria-label={`Delete ${task.description}`} onClick={remove}>
        Delete
      </button>
    </li>
  );
}
