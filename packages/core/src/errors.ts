/** A problem with the input module or with how the rewrite was asked for; the message names the culprit. */
export class AsyncifyError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'AsyncifyError'
  }
}

/** A bad option: the message names the option and what is wrong with its value. */
export class AsyncifyOptionError extends AsyncifyError {
  readonly option: string
  constructor(option: string, message: string) {
    super(`option ${option}: ${message}`)
    this.name = 'AsyncifyOptionError'
    this.option = option
  }
}
