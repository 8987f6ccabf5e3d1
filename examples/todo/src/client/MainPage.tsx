// The signed-in user's task list: `getTasks` through `useQuery`, and the three actions through
// `useAction`. Each action invalidates `getTasks` (they share the `Task` entity), so the list
// refetches by itself; ticking and deleting also change the cached list at once (optimistic
// updates), and a refused action puts the old list back.
import { useState, type FormEvent } from "react";
import {
  OperationError,
  createTask,
  deleteTask,
  getTasks,
  updateTask,
  useAction,
  useQuery,
} from "@appc/operations";
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
  return (
    <Layout>
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
    </Layout>
  );
}

function TaskItem({ task, toggle, remove }: { task: Task; toggle: () => void; remove: () => void }) {
  return (
    <li className={task.isDone ? "task task--done" : "task"} data-testid="task">
      <label>
        <input type="checkbox" checked={task.isDone} onChange={toggle} />
        <span>{task.description}</span>
      </label>
      <button type="button" className="button--quiet" aria-label={`Delete ${task.description}`} onClick={remove}>
        Delete
      </button>
    </li>
  );
}
