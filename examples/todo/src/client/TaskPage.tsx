// One task on a page of its own (`/tasks/:id`), through the live query `getTask`: ticking the
// task off in another tab shows here without a reload, and once the task is deleted anywhere the
// query answers 404 and the page says the task is gone.
import { useParams } from "react-router";
import { getTask, useLiveStatus, useQuery } from "@appc/operations";
import { Link } from "@appc/router";
import { Layout } from "./Layout";

export function TaskPage() {
  const id = Number(useParams().id);
  const { data: task, error } = useQuery(getTask, { id });
  const liveStatus = useLiveStatus();
  return (
    <Layout>
      <p className="live-status" data-testid="live-status" data-status={liveStatus}>
        {liveStatus === "live" ? "Live" : liveStatus === "off" ? "" : "Reconnecting…"}
      </p>
      <p>
        <Link to="/">All tasks</Link>
      </p>
      {error !== null ? (
        <p className="error" role="alert" data-testid="task-error" data-status={error.status}>
          {error.status === 404 ? "This task is gone: " : "The task could not be loaded: "}
          {error.message}
        </p>
      ) : task === undefined ? (
        <p>Loading…</p>
      ) : (
        <>
          <h1 data-testid="task-description">{task.description}</h1>
          <p data-testid="task-state">{task.isDone ? "Done" : "To do"}</p>
        </>
      )}
    </Layout>
  );
}
