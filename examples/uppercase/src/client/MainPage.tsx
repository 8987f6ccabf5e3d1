// The echo page: the visitor gives a name and an age (the typed `Visitor` handshake), the server
// greets them by name, and every text they send comes back upper-cased.
import { useState, type FormEvent } from 'react';
import type { Visitor } from '@appc/types';
import { useSocket, useSocketListener } from '@appc/webSocket';

export function MainPage() {
  const [visitor, setVisitor] = useState<Visitor | null>(null);
  return (
    <main>
      <h1>Uppercase</h1>
      {visitor === null ? <JoinForm onJoin={setVisitor} /> : <Echo visitor={visitor} />}
    </main>
  );
}

/** Asks for the handshake's fields; the socket connects only once they are known. */
function JoinForm({ onJoin }: { onJoin: (visitor: Visitor) => void }) {
  const [name, setName] = useState('');
  const [age, setAge] = useState('');
  const years = Number.parseInt(age, 10);
  const valid = name.trim() !== '' && Number.isInteger(years) && years >= 0;

  function join(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    if (valid) {
      onJoin({ name: name.trim(), age: years });
    }
  }

  return (
    <form onSubmit={join}>
      <label>
        Name <input name="name" value={name} onChange={(event) => setName(event.target.value)} />
      </label>
      <label>
        Age{' '}
        <input
          name="age"
          type="number"
          min={0}
          value={age}
          onChange={(event) => setAge(event.target.value)}
        />
      </label>
      <button type="submit" disabled={!valid}>
        Join
      </button>
    </form>
  );
}

/** Connects with the visitor's handshake and echoes what they type. */
function Echo({ visitor }: { visitor: Visitor }) {
  const { socket, status, error } = useSocket('/', { handshake: visitor });
  const [greeting, setGreeting] = useState<string | null>(null);
  const [answers, setAnswers] = useState<string[]>([]);
  const [text, setText] = useState('');

  useSocketListener('greeting', setGreeting);
  useSocketListener('uppercase', (answer) => setAnswers((all) => [...all, answer]));

  function send(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    if (text !== '') {
      socket.emit('textInput', text);
      setText('');
    }
  }

  return (
    <section>
      <p className="status">
        {status}
        {error !== null && status !== 'connected' ? `: ${error.message}` : ''}
      </p>
      {greeting !== null && <p className="greeting">{greeting}</p>}
      <form onSubmit={send}>
        <input
          name="text"
          value={text}
          placeholder="Type something"
          onChange={(event) => setText(event.target.value)}
        />
        <button type="submit" disabled={status !== 'connected'}>
          Send
        </button>
      </form>
      <ul className="answers">
        {answers.map((answer, index) => (
          <li key={index}>{answer}</li>
        ))}
      </ul>
    </section>
  );
}
