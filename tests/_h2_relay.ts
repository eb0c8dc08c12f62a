// A TCP relay between an HTTP/2 client and an h2c server that reads the
// frames going each way, so a test can put the client's frames exactly
// between two of the server's: it holds what the server sends from its first
// GOAWAY on until released, and can keep the client's answers from the server.

import net from "node:net";

const FRAME_HEADER_LENGTH = 9;
const CLIENT_PREFACE_LENGTH = 24; // "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
const HEADERS = 0x1;
const PING = 0x6;
const GOAWAY = 0x7;
const ACK = 0x1;

interface Frame {
  type: number;
  flags: number;
  streamId: number;
  bytes: Uint8Array;
}

/** Splits a byte stream into frames, `skip` bytes (a preface) first. */
function frameReader(skip: number, onFrame: (frame: Frame) => void): (chunk: Uint8Array) => void {
  let pending = new Uint8Array(0);
  return (chunk) => {
    const joined = new Uint8Array(pending.length + chunk.length);
    joined.set(pending);
    joined.set(chunk, pending.length);
    let at = Math.min(skip, joined.length);
    skip -= at;
    while (joined.length - at >= FRAME_HEADER_LENGTH) {
      const length = (joined[at]! << 16) | (joined[at + 1]! << 8) | joined[at + 2]!;
      if (joined.length - at < FRAME_HEADER_LENGTH + length) break;
      const bytes = joined.slice(at, at + FRAME_HEADER_LENGTH + length);
      const streamId = new DataView(bytes.buffer).getUint32(5) & 0x7fffffff;
      onFrame({ type: bytes[3]!, flags: bytes[4]!, streamId, bytes });
      at += FRAME_HEADER_LENGTH + length;
    }
    pending = joined.slice(at);
  };
}

export interface H2RelayOptions {
  /** Hold the server's bytes from its first GOAWAY on, until `release()`. */
  holdFromGoaway?: boolean;
  /**
   * Pass neither the client's PING acks nor its GOAWAY nor its close on: a
   * client that answers nothing (node:http2's client answers a GOAWAY with
   * its own, and the server's session then closes at once).
   */
  silentClient?: boolean;
}

/** One relay for one client connection, listening on 127.0.0.1. */
export class H2Relay {
  readonly #listener: net.Server;
  readonly #sockets = new Set<net.Socket>();
  #holding: Uint8Array[] | undefined;
  #onGoawayHeld = (): void => {};
  #onHeaders = (_streamId: number): void => {};
  /** What the server sent of GOAWAY (with its last stream id) and PING, in order. */
  readonly serverSent: string[] = [];
  /** Resolves once the server's first GOAWAY is held back. */
  readonly goawayHeld: Promise<void>;

  private constructor(listener: net.Server) {
    this.#listener = listener;
    this.goawayHeld = new Promise((resolve) => this.#onGoawayHeld = resolve);
  }

  /** A relay to the server on `port`. */
  static async to(port: number, options: H2RelayOptions = {}): Promise<H2Relay> {
    const listener = net.createServer();
    const relay = new H2Relay(listener);
    listener.on("connection", (client) => relay.#relay(client, port, options));
    await new Promise<void>((resolve) => listener.listen(0, "127.0.0.1", resolve));
    return relay;
  }

  get port(): number {
    return (this.#listener.address() as net.AddressInfo).port;
  }

  /** Resolves once the client's HEADERS opening `streamId` went on to the server. */
  headersPassed(streamId: number): Promise<void> {
    return new Promise((resolve) => {
      const previous = this.#onHeaders;
      this.#onHeaders = (id) => {
        previous(id);
        if (id === streamId) resolve();
      };
    });
  }

  /** Sends the client what was held, and everything after it straight on. */
  release(): void {
    const held = this.#holding ?? [];
    this.#holding = undefined;
    this.#flush?.(held);
  }

  #flush: ((held: Uint8Array[]) => void) | undefined;

  #relay(client: net.Socket, port: number, options: H2RelayOptions): void {
    const server = net.connect(port, "127.0.0.1");
    for (const socket of [client, server]) {
      this.#sockets.add(socket);
      socket.setNoDelay(true);
      socket.on("error", () => {}); // the other side's close says it
    }
    server.on("close", () => client.destroy());
    // A silent client's leaving goes unnoticed too (a peer gone without a FIN).
    client.on("close", () => options.silentClient || server.destroy());
    let goawaySeen = false;
    this.#flush = (held) => {
      for (const bytes of held) client.write(bytes);
    };
    server.on(
      "data",
      frameReader(0, (frame) => {
        if (frame.type === GOAWAY) {
          const lastStreamId = new DataView(frame.bytes.buffer).getUint32(9) & 0x7fffffff;
          this.serverSent.push(`GOAWAY ${lastStreamId}`);
        } else if (frame.type === PING && (frame.flags & ACK) === 0) this.serverSent.push("PING");
        if (frame.type === GOAWAY && !goawaySeen && options.holdFromGoaway) {
          goawaySeen = true;
          this.#holding = [];
          this.#onGoawayHeld();
        }
        if (this.#holding !== undefined) this.#holding.push(frame.bytes);
        else client.write(frame.bytes);
      }),
    );
    client.on(
      "data",
      frameReader(CLIENT_PREFACE_LENGTH, (frame) => {
        const pingAck = frame.type === PING && (frame.flags & ACK) !== 0;
        if (options.silentClient && (pingAck || frame.type === GOAWAY)) return;
        server.write(frame.bytes);
        if (frame.type === HEADERS) this.#onHeaders(frame.streamId);
      }),
    );
    // The preface is not a frame: it goes on as it came.
    let prefaceLeft = CLIENT_PREFACE_LENGTH;
    client.prependListener("data", (chunk: Uint8Array) => {
      if (prefaceLeft === 0) return;
      const preface = chunk.subarray(0, prefaceLeft);
      prefaceLeft -= preface.length;
      server.write(preface);
    });
  }

  /** Closes the relay and its connections. */
  close(): void {
    this.#listener.close();
    for (const socket of this.#sockets) socket.destroy();
  }
}
