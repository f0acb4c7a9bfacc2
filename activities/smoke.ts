/** The smoke test's one activity: proves a worker can run activity code end to end. */
export interface GreetInput {
  name: string;
}

export interface GreetResult {
  greeting: string;
}

export async function greet(input: GreetInput): Promise<GreetResult> {
  return { greeting: `Hello, ${input.name}!` };
}
