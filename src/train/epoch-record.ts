/** One epoch of training as the loop reports it and the checkpoint keeps it. */
export interface EpochRecord {
  epoch: number;
  loss: number;
  accuracy?: number;
  mae?: number;
  val_loss?: number;
  val_accuracy?: number;
  val_mae?: number;
  learning_rate: number;
  seconds: number;
  samples_per_second: number;
}
