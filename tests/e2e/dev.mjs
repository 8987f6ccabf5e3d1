// Used by `appc dev`'s integration test (compiler/tests/dev.rs): asks the chat server which
// username an anonymous message gets.
//
//   node dev.mjs URL USERNAME   exits 0 when an anonymous chatMessage comes back from USERNAME,
//                               1 (printing the username seen) otherwise
//
// The test runs it again and again while `appc dev` rebuilds, until the new behaviour answers.

import { connect, run } from "./lib.mjs";

const [url, expectedUsername] = process.argv.slice(2);

run(`anonymous messages come from ${expectedUsername}`, async () => {
  const socket = await connect(url, { transports: ["websocket"] }, ["chatHistory"]);
  try {
    await socket.caught.chatHistory;
    const text = `dev-check-${process.pid}-${Date.now()}`;
    // Other messages may be broadcast meanwhile; wait for ours.
    const ours = new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("our chatMessage did not come back")), 5000);
      socket.on("chatMessage", (message) => {
        if (message.text === text) {
          clearTimeout(timer);
          resolve(message);
        }
      });
    });
    socket.emit("chatMessage", text);
    const message = await ours;
    if (message.username !== expectedUsername) {
      throw new Error(`the message came from \`${message.username}\`, not \`${expectedUsername}\``);
    }
  } finally {
    socket.close();
  }
});
