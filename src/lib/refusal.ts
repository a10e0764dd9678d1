/** The process cannot go on as configured or with the data it found: the message (one line) says why and what to do. */
export class Refusal extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}
